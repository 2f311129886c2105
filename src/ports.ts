// Interfaces the services depend on. Adapters (storage/, providers/) implement them; main.ts wires
// them. One file per concern under ports/; this module re-exports them all.
export * from './ports/audit.js';
export * from './ports/alerts.js';
export * from './ports/clock.js';
export * from './ports/consent.js';
export * from './ports/conversations.js';
export * from './ports/counters.js';
export * from './ports/messages.js';
export * from './ports/metrics.js';
export * from './ports/pacing.js';
export * from './ports/policy.js';
export * from './ports/provider.js';
export * from './ports/reconcile.js';
export * from './ports/settings.js';
export * from './ports/storage.js';
export * from './ports/tenants.js';
export * from './ports/verifications.js';
export * from './ports/verify-provider.js';
export * from './ports/webhook-events.js';
export * from './ports/templates.js';
export * from './ports/events.js';
export * from './ports/usage.js';
export * from './ports/contacts.js';
export * from './ports/lookups.js';
export * from './ports/privacy.js';
export * from './ports/console-sessions.js';
export * from './ports/campaigns.js';
