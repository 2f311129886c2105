// The verify-provider port: a provider that generates, sends and checks codes itself (Twilio
// Verify). Failures are ProviderErrors carrying the provider's code.

export interface VerifyProviderStart {
  to: string;
  channel: string;
  locale: string;
}

/** approved / wrong code / the provider locked it (too many checks) / the provider no longer has it. */
export type VerifyProviderOutcome = 'approved' | 'wrong' | 'locked' | 'gone';

export interface VerifyProvider {
  /** Starts (or resends) a verification in service `serviceSid`; returns the provider's id for it. */
  start(serviceSid: string, req: VerifyProviderStart): Promise<{ sid: string }>;
  check(serviceSid: string, sid: string, code: string): Promise<VerifyProviderOutcome>;
  /** Cancels; a verification the provider no longer has counts as canceled. */
  cancel(serviceSid: string, sid: string): Promise<void>;
}
