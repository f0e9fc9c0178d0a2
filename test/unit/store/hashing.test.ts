/**
 * The ledger's keyed hashes: the secret rules (≥ 32 characters, no placeholders, variety) and the
 * rotation API (`hashes`: current secret first, then the previous one).
 */
import { createHmac } from 'node:crypto';

import {
	ledgerSecretProblem,
	MIN_LEDGER_SECRET_LENGTH,
	SubjectHasher,
} from '../../../lib/store/hashing';
import { LedgerInputError } from '../../../lib/store/types';

const CURRENT = 'edQj9FvQqmG8e6qu5SpS-76rPBM7D9pH';
const PREVIOUS = 'a-OnE0cufbdxzPBWftiq-ThrEGfQpZEl';

describe('ledger secret', () => {
	test.each([
		['', /is empty/],
		['12345678', /at least 32 characters/],
		['a-long-enough-secret', /at least 32 characters/],
		['replace-with-a-long-random-secret', /placeholder/],
		['demo-ledger-secret-but-now-much-longer-0', /placeholder/],
		['contract-test-secret-0123456789xyz', /too regular/],
		['x'.repeat(64), /too regular/],
	])('%j is refused with a clear message that does not repeat it', (secret, message) => {
		const problem = ledgerSecretProblem(secret);
		expect(problem).toMatch(message);
		expect(problem).toMatch(/openssl rand/);
		if (secret) expect(problem).not.toContain(secret);
		expect(() => new SubjectHasher(secret)).toThrow(LedgerInputError);
	});

	test('a generated secret is accepted', () => {
		expect(MIN_LEDGER_SECRET_LENGTH).toBe(32);
		expect(ledgerSecretProblem(CURRENT)).toBeUndefined();
		expect(() => new SubjectHasher(CURRENT)).not.toThrow();
	});
});

describe('SubjectHasher', () => {
	test('hashes are HMAC-SHA256 under a per-purpose key derived from the secret', () => {
		const hasher = new SubjectHasher(CURRENT);
		const key = createHmac('sha256', CURRENT)
			.update('n8n-nodes-pretix-matrix/ledger/v1/order')
			.digest();
		expect(hasher.orderCode(' abc3k ')).toBe(
			createHmac('sha256', key).update('ABC3K').digest('base64url'),
		);
		expect(hasher.hash('subject', 'x')).not.toBe(hasher.hash('mxid', 'x'));
		expect(hasher.matrixId('@Alice:Example.org ')).toBe(hasher.matrixId('@alice:example.org'));
	});

	test('without a previous secret: one hash per value, not rotating', () => {
		const hasher = new SubjectHasher(CURRENT);
		expect(hasher.rotating).toBe(false);
		expect(hasher.hashes('subject', 'summit26/5001')).toEqual([hasher.subject('summit26/5001')]);
	});

	test('with a previous secret: current hash first, then exactly what the previous secret alone gives', () => {
		const before = new SubjectHasher(PREVIOUS);
		const rotating = new SubjectHasher(CURRENT, { previousSecret: PREVIOUS });
		const after = new SubjectHasher(CURRENT);
		expect(rotating.rotating).toBe(true);
		expect(rotating.subjects('summit26/5001')).toEqual([
			after.subject('summit26/5001'),
			before.subject('summit26/5001'),
		]);
		expect(rotating.matrixIds('@Alice:example.org')).toEqual([
			after.matrixId('@alice:example.org'),
			before.matrixId('@alice:example.org'),
		]);
		expect(rotating.orderCodes('abc3k')).toEqual([
			after.orderCode('ABC3K'),
			before.orderCode('ABC3K'),
		]);
		// What is written stays the current secret's hash.
		expect(rotating.subject('summit26/5001')).toBe(after.subject('summit26/5001'));
	});

	test('the previous secret may be the weak one being replaced; the same secret twice is no rotation', () => {
		const fromWeak = new SubjectHasher(CURRENT, { previousSecret: 'demo-ledger-secret' });
		expect(fromWeak.hashes('order', 'ABC3K')).toHaveLength(2);
		expect(new SubjectHasher(CURRENT, { previousSecret: CURRENT }).rotating).toBe(false);
		expect(new SubjectHasher(CURRENT, { previousSecret: '' }).rotating).toBe(false);
	});
});
