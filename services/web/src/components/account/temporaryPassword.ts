// A temporary password an admin can hand over: long, random, and without look-alike characters.
const ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/** Groups of 4 separated by "-" (easy to read out), 20 random characters by default (~114 bits). */
export function temporaryPassword(length = 20, random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const chars: string[] = [];
  // Rejection sampling keeps every character equally likely.
  const limit = 256 - (256 % ALPHABET.length);
  while (chars.length < length) {
    for (const byte of random(new Uint8Array(length * 2))) {
      if (byte < limit && chars.length < length) chars.push(ALPHABET[byte % ALPHABET.length]);
    }
  }
  return chars.join("").replace(/(.{4})(?=.)/g, "$1-");
}
