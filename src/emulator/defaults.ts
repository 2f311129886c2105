// The emulator's well-known test credentials and number (published in its README, so only safe on loopback).
export const DEFAULT_ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
export const DEFAULT_AUTH_TOKEN = 'fedcba9876543210fedcba9876543210';
export const DEFAULT_NUMBERS = ['+15005550006'];
