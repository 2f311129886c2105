// US state telephone-solicitation hours, as data: each state whose law narrows the federal TCPA
// window (8 a.m.–9 p.m., 47 C.F.R. § 64.1200(c)(1)) for solicitations, which courts and the statutes
// below apply to text messages. Local time of the called party. Sources, statutes as amended through 2023
// (laws change: check them before relying on this table, and add states as data, not code):
// - FL: Fla. Stat. § 501.616(6)(a) (Florida Telephone Solicitation Act, amended by SB 1120, 2021): not before 8 a.m. or after 8 p.m.
// - OK: Okla. Stat. tit. 15 § 775C.4 (Oklahoma Telephone Solicitation Act of 2022): not before 8 a.m. or after 8 p.m.
// - MD: Md. Code, Com. Law § 14-4503 (Stop the Spam Calls Act of 2023): not before 8 a.m. or after 8 p.m.
// - WA: RCW 80.36.390(5) (telephone solicitation): not before 8 a.m. or after 8 p.m.
// - CT: Conn. Gen. Stat. § 42-288a (as amended by Public Act 23-98, 2023): not before 9 a.m. or after 8 p.m.
// - TX: Tex. Bus. & Com. Code § 301.051: 9 a.m.–9 p.m. weekdays and Saturday, noon–9 p.m. Sunday.
interface Hours {
  start: string;
  end: string;
}

export const US_STATE_QUIET_HOURS: Readonly<Record<string, Hours & { sunday?: Hours }>> = {
  FL: { start: '08:00', end: '20:00' },
  OK: { start: '08:00', end: '20:00' },
  MD: { start: '08:00', end: '20:00' },
  WA: { start: '08:00', end: '20:00' },
  CT: { start: '09:00', end: '20:00' },
  TX: { start: '09:00', end: '21:00', sunday: { start: '12:00', end: '21:00' } },
};
