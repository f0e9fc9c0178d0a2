/**
 * Preflight verdicts against the fake homeserver: power (spec "m.room.power_levels" defaults and
 * the m.room.member auth rules), encryption, tombstones (spec "Room Upgrades"), join rules, room
 * versions, and a room the bot is not in — and that a preflight changes nothing anywhere.
 */
import { fetchTransport } from '../../../lib/http/fetch-transport';
import { MatrixClient } from '../../../lib/matrix/client';
import { preflightEta, preflightLine, preflightRoom, type PreflightVerdict } from '../../../lib/matrix/preflight';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

describe('preflightRoom', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let client: MatrixClient;
	const retry = () => ({ deadline: Date.now() + 5_000, baseDelayMs: 1 });
	const MOD = '@mod:localhost';
	const ATTENDEE = '@attendee:localhost';

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot');
		hs.createUser('mod');
		hs.createUser('attendee');
		client = new MatrixClient(hs.url, fetchTransport(() => `Bearer ${bot.accessToken}`));
	});
	afterEach(() => hs.stop());

	/** A room created by a moderator, with the bot joined at `level` and an attendee invited. */
	const roomWithBot = (level: number, options: Parameters<FakeHomeserver['createRoom']>[0] = { creator: MOD }) => {
		const roomId = hs.createRoom({ alias: '#conf:localhost', ...options, creator: MOD, members: [bot.userId], invited: [ATTENDEE] });
		hs.setPowerLevel(roomId, bot.userId, level);
		return roomId;
	};

	test('a bot with moderator power in an invite-only room: ok, can invite and kick, room version 10', async () => {
		const roomId = roomWithBot(50);
		const verdict = await preflightRoom(client, '#conf:localhost', bot.userId, retry());
		expect(verdict).toEqual({
			room: '#conf:localhost',
			ok: true,
			problems: [],
			warnings: [],
			facts: {
				roomId,
				alias: '#conf:localhost',
				membership: 'join',
				powerLevel: 50,
				inviteLevel: 0,
				kickLevel: 50,
				banLevel: 50,
				usersDefault: 0,
				canInvite: true,
				canKick: true,
				joinRule: 'invite',
				encrypted: false,
				roomVersion: '10',
			},
		});
		expect(preflightLine(verdict)).toBe('✅ #conf:localhost — can invite and kick; invite-only; room version 10');
	});

	test('spec m.room.power_levels: kick defaults to 50 — a bot at 0 can invite (default 0) but not withdraw; ban is not required', async () => {
		const roomId = roomWithBot(0);
		// Without a `kick` key the spec default (50) applies; `ban` at 100 is not the bot's business.
		const { kick: _kick, ...rest } = hs.roomState(roomId).find((e) => e.type === 'm.room.power_levels')!.content as Record<string, unknown>;
		hs.setState(roomId, 'm.room.power_levels', { ...rest, ban: 100 });
		const verdict = await preflightRoom(client, roomId, bot.userId, retry());
		expect(verdict.ok).toBe(false);
		expect(verdict.facts).toMatchObject({ powerLevel: 0, kickLevel: 50, banLevel: 100, canInvite: true, canKick: false });
		expect(verdict.problems).toEqual([
			"the bot's power level 0 is below kick (50): it cannot withdraw canceled tickets",
		]);
		expect(preflightLine(verdict)).toBe(
			"⚠️ #conf:localhost — the bot's power level 0 is below kick (50): it cannot withdraw canceled tickets; invite-only; room version 10",
		);
	});

	test('auth rules for m.room.member: kicking also needs a level above the target — a bot at users_default cannot withdraw', async () => {
		const roomId = roomWithBot(50);
		hs.setPowerLevels(roomId, { users_default: 50 });
		const verdict = await preflightRoom(client, roomId, bot.userId, retry());
		expect(verdict.facts).toMatchObject({ powerLevel: 50, kickLevel: 50, usersDefault: 50, canKick: false });
		expect(verdict.problems).toEqual([
			"the bot's power level 50 is not above the default level (50) attendees get: it cannot withdraw canceled tickets",
		]);
	});

	test('an invite level above the bot: the problem names the invite power', async () => {
		const roomId = roomWithBot(10);
		hs.setPowerLevels(roomId, { invite: 50, kick: 0 });
		const verdict = await preflightRoom(client, roomId, bot.userId, retry());
		expect(verdict.problems).toEqual([
			"the bot's power level 10 is below invite (50): it cannot invite attendees",
		]);
	});

	test('spec m.room.encryption: an encrypted room still works for invites, with a warning that commands are not read', async () => {
		const roomId = roomWithBot(50);
		hs.setState(roomId, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		const verdict = await preflightRoom(client, roomId, bot.userId, retry());
		expect(verdict.ok).toBe(true);
		expect(verdict.facts.encrypted).toBe(true);
		expect(preflightLine(verdict)).toBe(
			'✅ #conf:localhost — can invite and kick; invite-only; room version 10; encrypted: the bot cannot read commands typed here yet (this package does not decrypt)',
		);
	});

	test('spec "Room Upgrades": a tombstoned room is a problem naming its replacement', async () => {
		const roomId = roomWithBot(100, { creator: MOD, roomVersion: '11' });
		const newRoom = hs.createRoom({ creator: MOD, members: [bot.userId], roomVersion: '12' });
		hs.setState(roomId, 'm.room.tombstone', { body: 'This room has been replaced', replacement_room: newRoom });
		const verdict = await preflightRoom(client, roomId, bot.userId, retry());
		expect(verdict.ok).toBe(false);
		expect(verdict.facts).toMatchObject({ replacementRoom: newRoom, roomVersion: '11' });
		expect(verdict.problems).toEqual([`the room was upgraded and replaced by ${newRoom}: map the new room instead`]);
	});

	test('restricted join rule (spec "Restricted rooms"): the allowed spaces are listed; public rooms say anyone can join', async () => {
		const roomId = roomWithBot(50);
		hs.setState(roomId, 'm.room.join_rules', {
			join_rule: 'restricted',
			allow: [{ type: 'm.room_membership', room_id: '!space:localhost' }, { type: 'unknown' }],
		});
		const restricted = await preflightRoom(client, roomId, bot.userId, retry());
		expect(restricted.facts).toMatchObject({ joinRule: 'restricted', allowedRooms: ['!space:localhost'] });
		expect(preflightLine(restricted)).toContain('members of 1 space may join');
		hs.setState(roomId, 'm.room.join_rules', { join_rule: 'public' });
		const open = await preflightRoom(client, roomId, bot.userId, retry());
		expect(preflightLine(open)).toContain('public (anyone can join without a ticket)');
	});

	test('a space (spec "Spaces"): how many children are restricted to it, which are not (they need their own invites)', async () => {
		const space = roomWithBot(50, { creator: MOD, roomType: 'm.space' });
		const restricted = [1, 2].map(() => {
			const child = hs.createRoom({ creator: MOD, members: [bot.userId] });
			hs.setState(child, 'm.room.join_rules', {
				join_rule: 'restricted',
				allow: [{ type: 'm.room_membership', room_id: space }],
			});
			hs.setState(space, 'm.space.child', { via: ['localhost'] }, { stateKey: child });
			return child;
		});
		const inviteOnly = hs.createRoom({ creator: MOD, members: [bot.userId] });
		hs.setState(space, 'm.space.child', { via: ['localhost'] }, { stateKey: inviteOnly });
		// Restricted to another space: a member of this one is not let in.
		const elsewhere = hs.createRoom({ creator: MOD, members: [bot.userId] });
		hs.setState(elsewhere, 'm.room.join_rules', {
			join_rule: 'restricted',
			allow: [{ type: 'm.room_membership', room_id: '!other:localhost' }],
		});
		hs.setState(space, 'm.space.child', { via: ['localhost'] }, { stateKey: elsewhere });
		// Without via the child is removed (spec): not counted at all.
		hs.setState(space, 'm.space.child', { via: [] }, { stateKey: hs.createRoom({ creator: MOD }) });
		const verdict = await preflightRoom(client, space, bot.userId, retry());
		expect(verdict.ok).toBe(true);
		expect(verdict.facts.space).toBe(true);
		expect([...verdict.facts.restrictedChildren!].sort()).toEqual([...restricted].sort());
		expect([...verdict.facts.otherChildren!].sort()).toEqual([inviteOnly, elsewhere].sort());
		expect(verdict.warnings).toEqual([
			'2 child rooms are not restricted to this space: attendees need separate invites there',
		]);
		expect(preflightLine(verdict)).toContain("space: 2 child rooms restricted to it (the space's invite covers them)");
	});

	test('m.room.create without room_version means version "1" (spec); room version 12 creators are unlimited (MSC4289)', async () => {
		const v12 = hs.createRoom({ creator: bot.userId, roomVersion: '12' });
		const verdict = await preflightRoom(client, v12, bot.userId, retry());
		expect(verdict.facts).toMatchObject({ roomVersion: '12', powerLevel: null, canInvite: true, canKick: true });
		expect(verdict.ok).toBe(true);
		const old = hs.createRoom({ creator: bot.userId });
		hs.setState(old, 'm.room.create', { creator: bot.userId });
		expect((await preflightRoom(client, old, bot.userId, retry())).facts.roomVersion).toBe('1');
	});

	test('bot not in the room (403), unknown alias (404), a user link: problems, no crash', async () => {
		const elsewhere = hs.createRoom({ creator: MOD, alias: '#closed:localhost' });
		const notIn = await preflightRoom(client, '#closed:localhost', bot.userId, retry());
		expect(notIn).toMatchObject({
			ok: false,
			problems: ['the bot is not in this room: invite the bot and let it join'],
			facts: { roomId: elsewhere, alias: '#closed:localhost' },
		});
		const unknown = await preflightRoom(client, '#nowhere:localhost', bot.userId, retry());
		expect(unknown.problems).toEqual(['no such room (the alias or room is unknown to the homeserver)']);
		const user = await preflightRoom(client, 'https://matrix.to/#/@mod:localhost', bot.userId, retry());
		expect(user.problems).toEqual(['The link points to a user, not to a room']);
		hs.setMembership(elsewhere, bot.userId, 'invite', { sender: MOD });
		const invited = await preflightRoom(client, elsewhere, bot.userId, retry());
		expect(invited.problems).toEqual(['the bot is not in this room: invite the bot and let it join']);
	});

	test('a homeserver that keeps failing one read (5xx after the retries): a problem naming what could not be read, no crash', async () => {
		const roomId = roomWithBot(50);
		hs.failNext(10, { status: 500, path: /m\.room\.encryption/ });
		const verdict = await preflightRoom(client, roomId, bot.userId, retry());
		expect(verdict.ok).toBe(false);
		expect(verdict.problems).toEqual(['could not read the encryption setting: homeserver answered 500 M_UNKNOWN']);
		expect(verdict.facts).toMatchObject({ canInvite: true, canKick: true, joinRule: 'invite' });
	});

	test('a preflight touches nobody: no invite, no state change, no message; only GETs; no user ID but the room in the line', async () => {
		const roomId = roomWithBot(0);
		hs.setState(roomId, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		// `unsigned.age` is computed per read; everything else must be identical.
		const snapshot = () => [hs.roomState(roomId), hs.timeline(roomId)].map((events) => events.map(({ unsigned: _u, ...event }) => event));
		const before = snapshot();
		hs.clearLog();
		const verdict = await preflightRoom(client, '#conf:localhost', bot.userId, retry());
		expect(snapshot()).toEqual(before);
		expect(hs.inviteCount(roomId, ATTENDEE)).toBe(0);
		expect(hs.requests().filter((r) => r.method !== 'GET')).toEqual([]);
		// Never the member list: a room of thousands is read with a handful of state events.
		expect(hs.countRequests({ path: /\/(members|joined_members)$/ })).toBe(0);
		const text = JSON.stringify([verdict.problems, verdict.warnings, preflightLine(verdict)]);
		expect(text).not.toMatch(/@/);
	});
});

describe('preflightEta', () => {
	const verdict = (facts: PreflightVerdict['facts']): PreflightVerdict => ({ room: '!r:localhost', ok: true, problems: [], warnings: [], facts });

	test("Synapse's default limits (pacer.ts): 300 attendees × 2 rooms are 600 invites, rc_message decides: (600 − 10) / 0.2 s", () => {
		const eta = preflightEta([verdict({ canInvite: true }), verdict({ canInvite: true }), verdict({ canInvite: false }), verdict({ canInvite: true, replacementRoom: '!new:localhost' })], 300);
		expect(eta).toMatchObject({ attendees: 300, rooms: 2, invites: 600, seconds: 2950, limitedBy: 'message' });
		expect(eta.text).toBe("ETA: 600 invites (300 attendees × 2 rooms) take about 50 minutes at Synapse's default limits, set by the bot's message limit (rc_message, 0.2/s: every invite counts)");
	});

	test('within the bursts it takes under a minute; no room to invite into means no invites', () => {
		expect(preflightEta([verdict({ canInvite: true })], 5).text).toBe("ETA: 5 invites (5 attendees × 1 room) take under a minute at Synapse's default limits");
		expect(preflightEta([verdict({})], 5).text).toBe('ETA: no invites to make (5 attendees, 0 rooms the bot can invite into)');
		expect(preflightEta([verdict({ canInvite: true })], 20_000).text).toMatch(/about 27\.8 hours/);
	});
});
