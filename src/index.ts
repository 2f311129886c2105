// Library entry: `import { createSmsRelay } from 'smsrelay'`.
export { createSmsRelay, ensureInitialApiKey, createLogger, type SmsRelay, type SmsRelayOptions } from './main.js';
export { loadConfig, ConfigError, type Config } from './config.js';
export { AppError, ERRORS, type ErrorCode } from './core/errors.js';
export type { SendInput, SendResult, ListInput } from './services/messages.js';
export type { MessageResource } from './services/message-resource.js';
export type { Tenant } from './services/tenants.js';
export type { Provider, ProviderMessage, ProviderSendRequest } from './ports.js';
export { ProviderError } from './ports.js';
export { createEmulator } from './emulator/index.js';
