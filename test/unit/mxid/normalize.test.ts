import fc from 'fast-check';
import {
	isValidServerName,
	isValidUserId,
	MAX_INPUT_LENGTH,
	normalizeMxid,
	NOTE_MESSAGES,
	REASON_MESSAGES,
	type MxidReason,
} from '../../../lib/mxid';
import { readFixture } from '../../fakes/pretix/fixtures';

describe('normalizeMxid: the research table (matrix-api.md §1.5)', () => {
	const accepted: Array<[string, string]> = [
		['@alice:example.org', '@alice:example.org'],
		['  @alice:example.org  ', '@alice:example.org'],
		['@Alice:Example.ORG', '@alice:example.org'],
		['alice:example.org', '@alice:example.org'],
		['matrix.to/#/@alice:example.org', '@alice:example.org'],
		['https://matrix.to/#/%40alice%3Aexample.org?via=example.org', '@alice:example.org'],
		['https://matrix.to/#/@alice:example.org?via=a.org&via=b.org', '@alice:example.org'],
		['matrix:u/alice:example.org?action=chat', '@alice:example.org'],
		['@a/b+c=d_e.f-g:example.org', '@a/b+c=d_e.f-g:example.org'],
		['@alice:example.org:8448', '@alice:example.org:8448'],
		['@alice:1.2.3.4', '@alice:1.2.3.4'],
		['@alice:[::1]:8448', '@alice:[::1]:8448'],
		['@alice:[1234:5678::abcd]', '@alice:[1234:5678::abcd]'],
	];
	test.each(accepted)('%j → %s', (input, expected) => {
		const result = normalizeMxid(input);
		expect(result).toMatchObject({ valid: true, userId: expected, reason: null, message: null });
		expect(isValidUserId(result.userId)).toBe(true);
	});

	const rejected: Array<[string, MxidReason]> = [
		['@alice', 'missingServer'],
		['alice', 'missingServer'],
		['@:example.org', 'missingLocalpart'],
		['@alice:', 'missingServer'],
		['@al ice:example.org', 'containsSpace'],
		['@alicé:example.org', 'badLocalpart'],
		['@ali*ce:example.org', 'badLocalpart'],
		['@alice:exa mple.org', 'containsSpace'],
		['@alice:exa_mple.org', 'badServerName'],
		['@alice:a..b', 'badServerName'],
		['@alice:[::1', 'badServerName'],
		['@alice:[zz::1]', 'badServerName'],
		['@alice:256.1.1.1', 'badServerName'],
		['@alice:example.org:0', 'badPort'],
		['@alice:example.org:99999', 'badPort'],
		['@alice:example.org:', 'badPort'],
		['#room:example.org', 'isRoomOrAlias'],
		['!abc:example.org', 'isRoomOrAlias'],
		['@' + 'a'.repeat(243) + ':example.org', 'tooLong'],
	];
	test.each(rejected)('%j → %s', (input, reason) => {
		const result = normalizeMxid(input);
		expect(result).toMatchObject({
			valid: false,
			userId: null,
			reason,
			message: REASON_MESSAGES[reason],
		});
	});

	test('255 bytes is the limit, counted in UTF-8 bytes', () => {
		const exactly255 = '@' + 'a'.repeat(242) + ':example.org';
		expect(exactly255.length).toBe(255);
		expect(normalizeMxid(exactly255)).toMatchObject({ valid: true, userId: exactly255 });
		expect(normalizeMxid('@' + 'a'.repeat(243) + ':example.org').reason).toBe('tooLong');
	});
});

describe('normalizeMxid: the Matrix ID answers in the pretix fixture orders', () => {
	// What each order's answer must become: the normalised ID, or the reason it is rejected.
	const expected: Record<string, string> = {
		ABC3K: '@alice:example.org',
		B7NQX: '@bob:matrix.example.net',
		C8RTW: '@carol:example.org',
		D9HLM: '@dave:example.org|@erin:example.org',
		E3PZV: '@frank:example.org|@grace:example.net|@heidi:chat.example.org',
		F7KMA: '@ivan:example.org',
		G8WXY: 'missingServer',
		H3TUV: 'containsSpace',
		J9QRS: '@laura:example.org',
		K7MNP: '@mallory:example.org',
		L3DFG: '@niaj:example.org',
		N7VWZ: '@peggy:example.org',
		P3HJK: '@alice:example.org',
		Q9LTR: '@sybil:example.org',
	};
	const answers = new Map<string, string[]>();
	for (const file of ['orders-page-1.json', 'orders-page-2.json']) {
		const page = readFixture<{
			results: Array<{
				code: string;
				positions: Array<{ answers?: Array<{ question_identifier: string; answer: string }> }>;
			}>;
		}>(file);
		for (const order of page.results) {
			for (const position of order.positions) {
				for (const answer of position.answers ?? []) {
					if (answer.question_identifier.toLowerCase() === 'matrix')
						answers.set(order.code, [...(answers.get(order.code) ?? []), answer.answer]);
				}
			}
		}
	}

	test('every fixture order with a Matrix answer is covered (and M8BCX has none)', () => {
		expect([...answers.keys()].sort()).toEqual(Object.keys(expected).sort());
	});
	test.each(Object.entries(expected))('order %s → %s', (code, outcome) => {
		const results = (answers.get(code) ?? []).map((answer) => normalizeMxid(answer));
		expect(results.map((r) => r.userId ?? r.reason).join('|')).toBe(outcome);
	});

	test('the upper-case answer carries notes for both lower-casings', () => {
		expect(normalizeMxid('@Laura:Example.ORG').notes).toEqual([
			'lowercasedLocalpart',
			'lowercasedServerName',
		]);
	});
	test('the missing @ is noted', () => {
		expect(normalizeMxid('ivan:example.org').notes).toEqual(['addedAtSign']);
	});
	test('the link and the trailing spaces are noted', () => {
		expect(normalizeMxid('https://matrix.to/#/@mallory:example.org').notes).toEqual([
			'unwrappedLink',
		]);
		expect(normalizeMxid('@niaj:example.org  ').notes).toEqual(['trimmed']);
	});
	test('the invalid answer keeps a best-effort candidate for the organizer', () => {
		expect(normalizeMxid('@ken smith:example.org').candidate).toBe('@ken smith:example.org');
	});
});

describe('normalizeMxid: what attendees type', () => {
	const cases: Array<[string, string, string[]]> = [
		['\u00A0@alice:example.org\u2003', '@alice:example.org', ['trimmed']],
		['@ali\u200Bce:example.org', '@alice:example.org', ['removedInvisibleCharacters']],
		['\uFEFF@alice:example.org', '@alice:example.org', ['removedInvisibleCharacters']],
		['<@alice:example.org>', '@alice:example.org', ['removedQuotes']],
		['"@alice:example.org"', '@alice:example.org', ['removedQuotes']],
		['`@alice:example.org`', '@alice:example.org', ['removedQuotes']],
		['\u201E@alice:example.org\u201C', '@alice:example.org', ['removedQuotes']],
		['@ alice : example.org', '@alice:example.org', ['removedSpaceAroundSeparator']],
		['alice: example.org', '@alice:example.org', ['removedSpaceAroundSeparator', 'addedAtSign']],
		['@alice:example.org.', '@alice:example.org', ['removedTrailingDot']],
		['@alice:example.org...', '@alice:example.org', ['removedTrailingDot']],
		['HTTPS://MATRIX.TO/#/@alice:example.org', '@alice:example.org', ['unwrappedLink']],
		['http://matrix.to/#/@alice:example.org', '@alice:example.org', ['unwrappedLink']],
		['https://matrix.to/#/@a%2Fb:example.org', '@a/b:example.org', ['unwrappedLink']],
		['matrix:user/alice:example.org', '@alice:example.org', ['unwrappedLink']],
		['MATRIX:u/%40alice%3Aexample.org', '@alice:example.org', ['unwrappedLink']],
		['https://app.element.io/#/user/@alice:example.org', '@alice:example.org', ['unwrappedLink']],
		['@alice:[1234:5678::ABCD]:5678', '@alice:[1234:5678::abcd]:5678', ['lowercasedServerName']],
		['@alice:matrix.org:8888', '@alice:matrix.org:8888', []],
		['@alice:1.2.3.4:1234', '@alice:1.2.3.4:1234', []],
		['@alice:localhost', '@alice:localhost', []],
	];
	test.each(cases)('%j → %s', (input, expected, notes) => {
		const result = normalizeMxid(input);
		expect(result.userId).toBe(expected);
		expect(result.notes).toEqual(notes);
	});

	const rejected: Array<[unknown, MxidReason]> = [
		['', 'empty'],
		['   ', 'empty'],
		['""', 'empty'],
		['\u200B', 'empty'],
		[null, 'empty'],
		[undefined, 'empty'],
		['@', 'empty'],
		[42, 'notText'],
		[{ matrixId: '@alice:example.org' }, 'notText'],
		['alice@example.org', 'looksLikeEmail'],
		['@alice@example.org', 'looksLikeEmail'],
		['mailto:alice@example.org', 'looksLikeEmail'],
		['https://matrix.to/#/#room:example.org', 'isRoomOrAlias'],
		['https://matrix.to/#/!abc:example.org/$event?via=example.org', 'isRoomOrAlias'],
		['matrix:r/room:example.org', 'isRoomOrAlias'],
		['matrix:roomid/abc:example.org', 'isRoomOrAlias'],
		['https://app.element.io/#/room/#room:example.org', 'isRoomOrAlias'],
		['https://matrix.to/#/%E0%A4%A', 'unsupportedLink'],
		['https://example.org/alice', 'unsupportedLink'],
		['matrix:x/alice:example.org', 'unsupportedLink'],
		['@alice:example.org:8448x', 'badPort'],
		['@alice:::1', 'badServerName'],
		['@alice:example.org:+1', 'badPort'],
		['@alice:[::1]x', 'badServerName'],
		['@alice:1.2.3', 'badServerName'],
		['@alice:exa$mple.org', 'badServerName'],
		['@alice:\u212Aexample.org', 'badServerName'],
		['@\u212Aelvin:example.org', 'badLocalpart'],
		['a'.repeat(MAX_INPUT_LENGTH + 1), 'tooLong'],
	];
	test.each(rejected)('%j → %s', (input, reason) => {
		expect(normalizeMxid(input)).toMatchObject({ valid: false, reason });
	});

	test('a bare name gets the default server only when one is configured', () => {
		expect(normalizeMxid('alice').reason).toBe('missingServer');
		expect(normalizeMxid('Alice', { defaultServer: 'example.org' })).toMatchObject({
			userId: '@alice:example.org',
			notes: ['addedAtSign', 'addedDefaultServer', 'lowercasedLocalpart'],
		});
		expect(normalizeMxid('@alice', { defaultServer: 'example.org' }).notes).toEqual([
			'addedDefaultServer',
		]);
	});
});

describe('grammar', () => {
	test.each([
		'matrix.org',
		'matrix.org:8888',
		'1.2.3.4',
		'1.2.3.4:1234',
		'[1234:5678::abcd]',
		'[1234:5678::abcd]:5678',
		'localhost',
		'MATRIX.ORG',
		'a-b.c',
	])('server name %s is valid', (name) => expect(isValidServerName(name)).toBe(true));
	test.each([
		'',
		'local host',
		'[::1',
		'a..b',
		'.a',
		'a.',
		'1.2.3.4.5',
		'[]',
		'[::1]:',
		'example.org:65536',
		'::1',
		'exa_mple.org',
	])('server name %j is invalid', (name) => expect(isValidServerName(name)).toBe(false));
	test('isValidUserId does not normalise', () => {
		expect(isValidUserId('@alice:example.org')).toBe(true);
		expect(isValidUserId('@Alice:example.org')).toBe(false);
		expect(isValidUserId(' @alice:example.org')).toBe(false);
		expect(isValidUserId(7)).toBe(false);
	});
});

describe('sentences for the attendee', () => {
	test('every reason and note has a sentence, and none leaks the input', () => {
		for (const message of [...Object.values(REASON_MESSAGES), ...Object.values(NOTE_MESSAGES)]) {
			expect(message).toMatch(/^[A-Z].*\.$/);
		}
		const secret = '@secretname:private.example';
		const result = normalizeMxid('@secretname:private.example:0');
		expect(result.message).not.toContain('secretname');
		expect(result.message).not.toContain(secret);
	});
});

describe('property: any input, never a throw, and valid output is a fixed point', () => {
	const interesting = fc.oneof(
		fc.string(),
		fc.string({ unit: 'binary' }),
		fc.string({
			unit: fc.constantFrom(...'@:#!/%?.[] \u00A0\u200BaAz09-_=+<>"\'matrix.to'.split('')),
		}),
		fc.tuple(fc.string(), fc.string()).map(([a, b]) => `@${a}:${b}`),
		fc.tuple(fc.string(), fc.string()).map(([a, b]) => `https://matrix.to/#/${a}?via=${b}`),
		fc.anything(),
	);
	test('normalizeMxid never throws and is consistent', () => {
		fc.assert(
			fc.property(interesting, (input) => {
				const result = normalizeMxid(input);
				expect(typeof result.valid).toBe('boolean');
				if (result.valid) {
					expect(isValidUserId(result.userId)).toBe(true);
					expect(result.reason).toBeNull();
					const again = normalizeMxid(result.userId);
					expect(again.userId).toBe(result.userId);
					expect(again.notes).toEqual([]);
				} else {
					expect(result.userId).toBeNull();
					expect(REASON_MESSAGES[result.reason!]).toBe(result.message);
				}
			}),
			{ numRuns: 3000 },
		);
	});
	test('every grammar-valid ID is accepted unchanged', () => {
		const localChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789._=-/+'.split(''));
		const label = fc.string({
			unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split('')),
			minLength: 1,
			maxLength: 10,
		});
		const id = fc
			.tuple(
				fc.string({ unit: localChar, minLength: 1, maxLength: 40 }),
				fc.array(label, { minLength: 1, maxLength: 4 }),
				fc.option(fc.integer({ min: 1, max: 65535 })),
			)
			.map(
				([local, labels, port]) =>
					`@${local}:${labels.join('.')}${port === null ? '' : ':' + port}`,
			)
			.filter((candidate) => !/:[0-9.]+(:\d+)?$/.test(candidate));
		fc.assert(
			fc.property(id, (userId) => {
				expect(normalizeMxid(userId)).toMatchObject({ valid: true, userId, notes: [] });
			}),
		);
	});
});
