/**
 * The secret-strength rules (lib/secrets.ts) against what people type and what generators produce.
 */
import { randomBytes } from 'node:crypto';

import { secretWeakness, type SecretPolicy } from '../../lib/secrets';

const PATH_SECRET: SecretPolicy = { minLength: 22, counted: /[A-Za-z0-9_-]/ };
const LEDGER_SECRET: SecretPolicy = { minLength: 32 };

describe('secretWeakness', () => {
	test.each([
		['', 'empty'],
		['   ', 'empty'],
		['replace-with-a-long-random-secret', 'placeholder'],
		['REPLACE_WITH_A_LONG_RANDOM_SECRET', 'placeholder'],
		['changeme', 'placeholder'],
		['secret', 'placeholder'],
		['my-password-for-the-pretix-webhook', 'placeholder'],
		['please-replace-with-something-random', 'placeholder'],
		['demo-ledger-secret', 'placeholder'],
		['Zk3v9QwT7rLx2abcd', 'tooShort'],
		['Xk29vTq7LmP3wZr8_nB4', 'tooShort'],
		['a'.repeat(40), 'lowVariety'],
		['abababababababababababababab', 'lowVariety'],
		['Summer2026Summer2026Summer2026', 'lowVariety'],
		['aaaaaaaaaaaaaaaaXk3vQ9pL2mRt7w', 'lowVariety'],
		['abcdefghijklmnopqrstuvwxyz0123', 'lowVariety'],
		['qwertyuiopasdfghjklzxcvbnm1234', 'lowVariety'],
		['Xk3vQ9pL2mXk3vQ9pL2mXk3vQ9pL2m', 'lowVariety'],
		['Q7pLm2x9Kd3Rt8Vw987654Zz', 'lowVariety'],
	])('%j is refused as %s', (value, expected) => {
		expect(secretWeakness(value, PATH_SECRET)).toBe(expected);
	});

	test('a generated 32-character secret passes; a 22-letter one passes the path rule only', () => {
		expect(secretWeakness('edQj9FvQqmG8e6qu5SpS-76rPBM7D9pH', PATH_SECRET)).toBeUndefined();
		expect(secretWeakness('edQj9FvQqmG8e6qu5SpS-76rPBM7D9pH', LEDGER_SECRET)).toBeUndefined();
		expect(secretWeakness('HObBmxvIdBplpGGW7UnWAR', PATH_SECRET)).toBeUndefined();
		expect(secretWeakness('HObBmxvIdBplpGGW7UnWAR', LEDGER_SECRET)).toBe('tooShort');
		// Only the counted characters count: a space is not a URL-safe character.
		expect(secretWeakness('HObBmx vIdBplpGGW7UnWA', PATH_SECRET)).toBe('tooShort');
	});

	test('what the recommended commands generate passes (2,000 samples each)', () => {
		for (let i = 0; i < 2000; i++) {
			// node -e "console.log(require('crypto').randomBytes(18).toString('base64url'))" (path)
			expect(secretWeakness(randomBytes(18).toString('base64url'), PATH_SECRET)).toBeUndefined();
			// openssl rand -base64 24 | tr -d '/+=' (path)
			const shortOpenssl = randomBytes(24).toString('base64').replace(/[/+=]/g, '');
			expect(secretWeakness(shortOpenssl, PATH_SECRET)).toBeUndefined();
			// … randomBytes(32).toString('base64url') (ledger)
			expect(secretWeakness(randomBytes(32).toString('base64url'), LEDGER_SECRET)).toBeUndefined();
			// openssl rand -base64 32 (ledger)
			expect(secretWeakness(randomBytes(32).toString('base64'), LEDGER_SECRET)).toBeUndefined();
			// openssl rand -hex 32
			expect(secretWeakness(randomBytes(32).toString('hex'), LEDGER_SECRET)).toBeUndefined();
		}
	});
});
