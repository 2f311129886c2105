import D from 'better-sqlite3';
const d=new D(':memory:');console.log('ok', d.prepare('select 1 x').get());
