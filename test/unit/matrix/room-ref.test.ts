import { fetchTransport } from '../../../lib/http/fetch-transport';
import { MatrixClient } from '../../../lib/matrix/client';
import { parseRoomRef, roomRefMessage, type RoomRefProblem } from '../../../lib/matrix/ids';
import { inviteUsers } from '../../../lib/matrix/invite-engine';
import { sendNotice, txnIdFor } from '../../../lib/matrix/messages';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

const room = (value: unknown) => {
	const parsed = parseRoomRef(value);
	return parsed.ok ? { room: parsed.room, via: parsed.via } : parsed.problem;
};

describe('room references: IDs, aliases, matrix.to links and Matrix URIs', () => {
	test('plain room IDs (with and without a domain, room version 12) and aliases pass as they are', () => {
		expect(room(' !abc:example.org ')).toEqual({ room: '!abc:example.org', via: [] });
		expect(room('!opaqueV12IdWithoutDomain')).toEqual({ room: '!opaqueV12IdWithoutDomain', via: [] });
		expect(room('#orga:example.org')).toEqual({ room: '#orga:example.org', via: [] });
	});

	test('matrix.to (spec appendix "matrix.to navigation"): raw or percent-encoded identifiers, via servers kept', () => {
		expect(room('https://matrix.to/#/!abc:example.org?via=example.org&via=other.example')).toEqual({
			room: '!abc:example.org',
			via: ['example.org', 'other.example'],
		});
		expect(room('https://matrix.to/#/#orga:example.org')).toEqual({ room: '#orga:example.org', via: [] });
		expect(room('https://matrix.to/#/%23orga%3Aexample.org')).toEqual({ room: '#orga:example.org', via: [] });
		expect(room('https://matrix.to/#/%21abc%3Aexample.org?via=example.org')).toEqual({
			room: '!abc:example.org',
			via: ['example.org'],
		});
		// Pasted without the scheme, and in upper case: still the same link.
		expect(room('matrix.to/#/#orga:example.org')).toEqual({ room: '#orga:example.org', via: [] });
		expect(room('HTTPS://MATRIX.TO/#/#orga:example.org')).toEqual({ room: '#orga:example.org', via: [] });
	});

	test('matrix.to event link: only the room is kept', () => {
		expect(room('https://matrix.to/#/!abc:example.org/$event123?via=example.org')).toEqual({
			room: '!abc:example.org',
			via: ['example.org'],
		});
		expect(room('https://matrix.to/#/%23orga%3Aexample.org/%24event123')).toEqual({ room: '#orga:example.org', via: [] });
		// The second part of a room link must be an event.
		expect(room('https://matrix.to/#/!abc:example.org/not-an-event')).toBe('invalidRoom');
	});

	test('Matrix URI scheme (spec appendix): r = alias, roomid = room ID, an event part keeps the room', () => {
		expect(room('matrix:r/orga:example.org')).toEqual({ room: '#orga:example.org', via: [] });
		expect(room('matrix:roomid/abc:example.org?via=example.org&action=join')).toEqual({
			room: '!abc:example.org',
			via: ['example.org'],
		});
		expect(room('matrix:roomid/abc:example.org/e/event123?via=example.org')).toEqual({
			room: '!abc:example.org',
			via: ['example.org'],
		});
		expect(room('matrix:r/orga%3Aexample.org')).toEqual({ room: '#orga:example.org', via: [] });
		// The authority part is reserved by the spec and ignored; a fragment is not part of the ID.
		expect(room('matrix://example.org/r/orga:example.org#x')).toEqual({ room: '#orga:example.org', via: [] });
	});

	test('a user is not a room: user links and user IDs are refused as rooms', () => {
		for (const input of [
			'https://matrix.to/#/@alice:example.org',
			'matrix.to/#/@alice:example.org',
			'https://matrix.to/#/%40alice%3Aexample.org',
			'matrix:u/alice:example.org',
			'matrix:u/alice:example.org?action=chat',
			'@alice:example.org',
		])
			expect([input, room(input)]).toEqual([input, 'notARoom']);
	});

	test('hostile and garbage input: refused with a reason, never an exception', () => {
		const cases: Array<[unknown, RoomRefProblem]> = [
			['', 'empty'],
			['   ', 'empty'],
			[undefined, 'invalidRoom'],
			[42, 'invalidRoom'],
			[{ room: '!a:b' }, 'invalidRoom'],
			['orga:example.org', 'invalidRoom'],
			['#no-server', 'invalidRoom'],
			['!abc:example.org\u0000', 'invalidRoom'],
			['https://matrix.to/#/%E0%A4%A', 'invalidRoom'], // broken percent-encoding
			['https://matrix.to/#/%21abc%3Aexample.org%0A', 'invalidRoom'], // encoded control character
			['https://matrix.to/#/!a:b/$e/extra', 'invalidRoom'],
			['https://matrix.to/#/$event123', 'invalidRoom'],
			['https://matrix.to/#/', 'invalidRoom'],
			['https://evil.example/#/!abc:example.org', 'unsupportedLink'],
			['https://pretix.eu/orga/event/', 'unsupportedLink'],
			['javascript://alert(1)', 'unsupportedLink'],
			['matrix:roomid/!abc:example.org', 'invalidRoom'], // the sigil is not part of a Matrix URI
			['matrix:r/', 'invalidRoom'],
			['matrix:group/team:example.org', 'unsupportedLink'],
			['matrix:roomid/abc:example.org/u/alice:example.org', 'invalidRoom'],
			['matrix:roomid/abc:example.org/e/', 'invalidRoom'],
			['matrix://example.org', 'invalidRoom'],
			[`!${'a'.repeat(5_000)}:example.org`, 'invalidRoom'],
		];
		for (const [input, problem] of cases) expect([input, room(input)]).toEqual([input, problem]);
		// via servers that are not server names are dropped, not trusted.
		expect(room('https://matrix.to/#/!abc:example.org?via=bad%20server&via=ok.example&via=a/b')).toEqual({
			room: '!abc:example.org',
			via: ['ok.example'],
		});
	});

	test('the messages for refused references are clear and repeat nothing of the input', () => {
		const input = 'https://matrix.to/#/@alice.secret:example.org';
		const parsed = parseRoomRef(input);
		expect(parsed.ok).toBe(false);
		const message = roomRefMessage((parsed as { problem: RoomRefProblem }).problem);
		expect(message).toBe('The link points to a user, not to a room');
		for (const problem of ['empty', 'notARoom', 'unsupportedLink', 'invalidRoom'] as const)
			expect(roomRefMessage(problem)).not.toMatch(/alice|secret|example\.org/);
	});
});

describe('room links work wherever a room is accepted', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs?.stop());

	test('spec appendix (matrix.to, Matrix URI scheme): invites and notices accept room links; a user link is an invalid room', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		hs.createUser('alice');
		hs.createUser('bob');
		const roomId = hs.createRoom({ creator: bot.userId, alias: '#orga:localhost' });
		const client = new MatrixClient(hs.url, fetchTransport(() => `Bearer ${bot.accessToken}`));
		const { results } = await inviteUsers(client, [
			{ room: `https://matrix.to/#/${encodeURIComponent(roomId)}?via=localhost`, userId: '@alice:localhost' },
			{ room: 'matrix:r/orga:localhost', userId: '@bob:localhost' },
			{ room: 'https://matrix.to/#/@bot:localhost', userId: '@bob:localhost' },
		]);
		expect(results.map((r) => r.status)).toEqual(['invited', 'invited', 'notPermitted']);
		expect(results[2].reason).toBe('invalidRoom');
		expect(hs.membership(roomId, '@alice:localhost')).toBe('invite');
		expect(hs.membership(roomId, '@bob:localhost')).toBe('invite');
		const sent = await sendNotice(
			client,
			{ room: 'https://matrix.to/#/%23orga%3Alocalhost', text: 'hello' },
			{ txnId: txnIdFor('room-link') },
		);
		expect(sent).toMatchObject({ status: 'sent', roomId });
		const refused = await sendNotice(
			client,
			{ room: 'matrix:u/alice:localhost', text: 'hello' },
			{ txnId: txnIdFor('user-link') },
		);
		expect(refused).toMatchObject({ status: 'notPermitted', reason: 'invalidRoom' });
	});
});
