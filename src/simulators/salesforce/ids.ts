// Salesforce record ids: 15-character case-sensitive ids and their 18-character case-safe form.

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
/** Pod and reserved characters that follow the key prefix in every id this simulated org issues. */
const ORG_INFIX = '5g0';

/** The 3-character suffix that encodes which of the first 15 characters are upper case. */
export function caseSafeSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const ch = id15.charAt(chunk * 5 + i);
      if (ch >= 'A' && ch <= 'Z') bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET.charAt(bits);
  }
  return suffix;
}

/** The 18-character id for the sequence number `seq` of an object with the given key prefix. */
export function makeRecordId(keyPrefix: string, seq: number): string {
  let body = '';
  let n = seq;
  for (let i = 0; i < 9; i++) {
    body = BASE62.charAt(n % 62) + body;
    n = Math.floor(n / 62);
  }
  const id15 = `${keyPrefix}${ORG_INFIX}${body}`;
  return id15 + caseSafeSuffix(id15);
}

/**
 * The canonical 18-character form of a 15- or 18-character id, or null when the text is not an id.
 * An 18-character id is case-insensitive: its suffix restores the case of the first 15 characters.
 */
export function normaliseRecordId(text: string): string | null {
  if (!/^[a-zA-Z0-9]+$/.test(text)) return null;
  if (text.length === 15) return text + caseSafeSuffix(text);
  if (text.length !== 18) return null;
  let id15 = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    const bits = SUFFIX_ALPHABET.indexOf(text.charAt(15 + chunk).toUpperCase());
    if (bits < 0) return null;
    for (let i = 0; i < 5; i++) {
      const ch = text.charAt(chunk * 5 + i);
      id15 += bits & (1 << i) ? ch.toUpperCase() : ch.toLowerCase();
    }
  }
  return id15 + caseSafeSuffix(id15);
}
