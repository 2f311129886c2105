// Verify v2 state the emulator core keeps (services and live verifications); the API is verify.ts.

export interface Service {
  sid: string;
  friendlyName: string;
  codeLength: number;
  lookupEnabled: boolean;
  skipSmsToLandlines: boolean;
  dtmfInputRequired: boolean;
  ttsName: string | null;
  psd2Enabled: boolean;
  doNotShareWarningEnabled: boolean;
  customCodeEnabled: boolean;
  dateCreated: Date;
  dateUpdated: Date;
}

export type VerificationStatus = 'pending' | 'approved' | 'canceled' | 'expired' | 'max_attempts_reached';

export interface Verification {
  sid: string;
  serviceSid: string;
  to: string;
  channel: string;
  status: VerificationStatus;
  code: string;
  sends: { time: string; channel: string; attempt_sid: string }[];
  failedChecks: number;
  dateCreated: Date;
  dateUpdated: Date;
  expiresAt: number;
}

export class VerifyState {
  readonly services = new Map<string, Service>();
  readonly bySid = new Map<string, Verification>();
  /** The live verification per `${serviceSid}|${to}`. */
  readonly live = new Map<string, Verification>();

  clear(): void {
    this.bySid.clear();
    this.live.clear();
  }
}
