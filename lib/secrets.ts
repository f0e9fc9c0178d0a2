/**
 * How strong a configured secret is: the webhook path secret, the ledger's HMAC secret. People type
 * these by hand or leave the template's value in place, so the checks look for what people do —
 * placeholders, short strings, runs, keyboard walks, repeated blocks — not for what a random
 * generator produces. Every rule is chosen so that output of `openssl rand -base64`/`-hex` or
 * `crypto.randomBytes(...).toString('base64url')` of the recommended size passes with overwhelming
 * probability (the odds are given at each rule). Results never contain the secret.
 */

export type SecretWeakness = 'empty' | 'tooShort' | 'placeholder' | 'lowVariety';

export interface SecretPolicy {
	/** Minimum number of counted characters. */
	minLength: number;
	/** Which characters count towards minLength (default: every character). */
	counted?: RegExp;
}

/** Values that shipped in this project's templates, scripts or docs, or that people commonly leave in. */
const KNOWN_PLACEHOLDERS = new Set([
	'replacewithalongrandomsecret',
	'replacewithyourteamtoken',
	'replacewiththebotaccesstoken',
	'demoledgersecret',
	'changeme',
	'secret',
	'password',
	'test',
	'example',
	'default',
]);

/** Fragments that only a hand-written placeholder contains (≥ 7 letters: a random 22-character base62 string contains one with odds below 10⁻¹⁰). */
const PLACEHOLDER_FRAGMENTS = [
	'replacewith',
	'demoledgersecret',
	'changeme',
	'changethis',
	'placeholder',
	'yoursecret',
	'mysecret',
	'insertyour',
	'password',
	'passw0rd',
	'letmein',
	'example',
];

/** Keyboard rows (QWERTY and QWERTZ) and the digit row, for walks like "qwerty" or "asdfgh". */
const KEYBOARD_ROWS = ['1234567890', 'qwertyuiop', 'qwertzuiop', 'asdfghjkl', 'zxcvbnm', 'yxcvbnm'];

/** Fewer distinct characters than this is a pattern (32 hex digits from a generator: odds ≈ 10⁻⁴). */
export const MIN_DISTINCT_CHARACTERS = 10;
/** This many equal characters in a row (64 hex digits: odds ≈ 6·10⁻⁵). */
const MAX_RUN = 6;
/** Ascending/descending or keyboard sequences of this length ("abcdef", "654321", "qwerty"). */
const SEQUENCE_LENGTH = 6;
/** A block of this length that occurs twice ("Xk3vQ9pL" + "Xk3vQ9pL"; 64 hex digits: odds ≈ 4·10⁻⁷). */
const REPEATED_BLOCK = 8;

export function secretWeakness(value: unknown, policy: SecretPolicy): SecretWeakness | undefined {
	const secret = typeof value === 'string' ? value : '';
	if (secret.trim() === '') return 'empty';
	const normalized = secret.toLowerCase().replace(/[^a-z0-9]/g, '');
	if (
		KNOWN_PLACEHOLDERS.has(normalized) ||
		PLACEHOLDER_FRAGMENTS.some((f) => normalized.includes(f))
	)
		return 'placeholder';
	const counted = policy.counted
		? [...secret].filter((c) => policy.counted!.test(c)).length
		: [...secret].length;
	if (counted < policy.minLength) return 'tooShort';
	if (hasLowVariety(secret, policy.minLength)) return 'lowVariety';
	return undefined;
}

/**
 * A secret is too regular when, after every run, sequence, keyboard walk and repeated block is
 * taken out, fewer than `minLength` characters are left (or it uses fewer than 10 distinct
 * characters). A long random secret that happens to contain "abcdef" still passes; a typed one made
 * of such patterns does not.
 */
function hasLowVariety(secret: string, minLength: number): boolean {
	const chars = [...secret];
	if (new Set(chars).size < MIN_DISTINCT_CHARACTERS) return true;
	const patterned = new Array<boolean>(chars.length).fill(false);
	const mark = (from: number, length: number) => {
		for (let k = from; k < from + length && k < chars.length; k++) patterned[k] = true;
	};
	let run = 1;
	for (let i = 1; i < chars.length; i++) {
		run = chars[i] === chars[i - 1] ? run + 1 : 1;
		if (run >= MAX_RUN) mark(i - run + 1, run);
	}
	const lower = chars.join('').toLowerCase();
	markSequences(lower, mark);
	for (const row of KEYBOARD_ROWS) {
		for (const line of [row, [...row].reverse().join('')]) {
			for (let i = 0; i + SEQUENCE_LENGTH <= line.length; i++) {
				const walk = line.slice(i, i + SEQUENCE_LENGTH);
				for (let at = lower.indexOf(walk); at !== -1; at = lower.indexOf(walk, at + 1)) mark(at, SEQUENCE_LENGTH);
			}
		}
	}
	const first = new Map<string, number>();
	for (let i = 0; i + REPEATED_BLOCK <= chars.length; i++) {
		const block = chars.slice(i, i + REPEATED_BLOCK).join('');
		const earlier = first.get(block);
		if (earlier === undefined) first.set(block, i);
		else if (i - earlier >= REPEATED_BLOCK) mark(i, REPEATED_BLOCK);
	}
	return patterned.filter((p) => !p).length < minLength;
}

/** "abcdef", "FEDCBA", "123456": consecutive code points, up or down, of SEQUENCE_LENGTH or more. */
function markSequences(lower: string, mark: (from: number, length: number) => void): void {
	let up = 1;
	let down = 1;
	for (let i = 1; i < lower.length; i++) {
		const step = lower.charCodeAt(i) - lower.charCodeAt(i - 1);
		up = step === 1 ? up + 1 : 1;
		down = step === -1 ? down + 1 : 1;
		if (up >= SEQUENCE_LENGTH) mark(i - up + 1, up);
		if (down >= SEQUENCE_LENGTH) mark(i - down + 1, down);
	}
}
