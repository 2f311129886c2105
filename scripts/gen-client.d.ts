// Types of gen-client.js, for test/client.test.ts.
export const SCHEMA_FILE: string;
export function clientSchemaSource(doc: unknown): Promise<string>;
export function appOpenApiDocument(): Promise<unknown>;
