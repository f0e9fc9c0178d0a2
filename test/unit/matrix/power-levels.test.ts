/**
 * Power levels as the homeserver enforces them (Matrix spec, room versions; Synapse event_auth
 * get_user_power_level / get_named_level; MSC4289 for room version 12): creators, a missing
 * power-levels event, and how the bot's own checks (invite engine, command listener) read them.
 */
import { fetchTransport } from '../../../lib/http/fetch-transport';
import { MatrixClient, type PowerLevels } from '../../../lib/matrix/client';
import { inviteUsers, revokeUsers } from '../../../lib/matrix/invite-engine';
import { CommandListener, type CommandEvent } from '../../../lib/matrix/listener';
import {
	creatorsHaveUnlimitedPower,
	effectivePowerLevels,
	levelOf,
	prepareRooms,
	readRoomPowerLevels,
	requiredLevel,
	roomCreationOf,
} from '../../../lib/matrix/rooms';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

const A = '@alice:example.org';
const B = '@bob:example.org';
const C = '@carol:example.org';
const createEvent = (
	roomVersion: string,
	sender: string,
	content: Record<string, unknown> = {},
) => ({
	type: 'm.room.create',
	sender,
	state_key: '',
	content: { room_version: roomVersion, ...content },
});
const LEVELS: PowerLevels = { users: { [B]: 50 }, users_default: 0, invite: 50, kick: 50 };

describe('effective power levels', () => {
	test('room versions 1–11 have no creator privilege; 12 and later (and unknown future ones) do', () => {
		for (const v of ['1', '6', '10', '11']) expect(creatorsHaveUnlimitedPower(v)).toBe(false);
		for (const v of ['12', '13', 'org.matrix.hydra.11'])
			expect(creatorsHaveUnlimitedPower(v)).toBe(true);
	});

	test('v12 (MSC4289): the create sender and additional_creators are unlimited, though absent from users', () => {
		const levels = effectivePowerLevels(
			LEVELS,
			roomCreationOf(createEvent('12', A, { additional_creators: [C] })),
		);
		expect(levelOf(levels, A)).toBe(Infinity);
		expect(levelOf(levels, C)).toBe(Infinity);
		expect(levelOf(levels, B)).toBe(50);
		expect(levelOf(levels, '@dave:example.org')).toBe(0);
	});

	test('v12: a creator listed lower in users is still unlimited', () => {
		const levels = effectivePowerLevels(
			{ users: { [A]: 0 } },
			roomCreationOf(createEvent('12', A)),
		);
		expect(levelOf(levels, A)).toBe(Infinity);
	});

	test('v10 and v11: the creator has only what users says; additional_creators means nothing', () => {
		const v10 = effectivePowerLevels(
			LEVELS,
			roomCreationOf(createEvent('10', A, { creator: A, additional_creators: [C] })),
		);
		expect([levelOf(v10, A), levelOf(v10, C), levelOf(v10, B)]).toEqual([0, 0, 50]);
		const v11 = effectivePowerLevels({ users: { [A]: 100 } }, roomCreationOf(createEvent('11', A)));
		expect(levelOf(v11, A)).toBe(100);
	});

	test('no power-levels event, v1–10: the creator (content.creator) has 100, everyone else users_default 0', () => {
		const levels = effectivePowerLevels(
			undefined,
			roomCreationOf(createEvent('10', A, { creator: A })),
		);
		expect([levelOf(levels, A), levelOf(levels, B)]).toEqual([100, 0]);
		expect(levels.withoutEvent).toBe(true);
	});

	test('no power-levels event, v11: the create sender is the creator (implicit_room_creator) with 100', () => {
		const levels = effectivePowerLevels(undefined, roomCreationOf(createEvent('11', A)));
		expect([levelOf(levels, A), levelOf(levels, B)]).toEqual([100, 0]);
	});

	test('no power-levels event, v12: creators unlimited, others 0', () => {
		const levels = effectivePowerLevels(
			undefined,
			roomCreationOf(createEvent('12', A, { additional_creators: [C] })),
		);
		expect([levelOf(levels, A), levelOf(levels, C), levelOf(levels, B)]).toEqual([
			Infinity,
			Infinity,
			0,
		]);
	});

	test('required levels without an event are the spec defaults (Synapse get_named_level): invite 0, kick 50, ban 50', () => {
		const levels = effectivePowerLevels(
			undefined,
			roomCreationOf(createEvent('10', A, { creator: A })),
		);
		expect([
			requiredLevel(levels, 'invite'),
			requiredLevel(levels, 'kick'),
			requiredLevel(levels, 'ban'),
		]).toEqual([0, 50, 50]);
	});

	test('a server answering the create content only (no ?format=event): v10 still names the creator; v12 without sender has no known creator', () => {
		expect(roomCreationOf({ room_version: '10', creator: A })).toEqual({
			roomVersion: '10',
			creator: A,
			additionalCreators: [],
		});
		expect(roomCreationOf({ room_version: '12', additional_creators: [C] })).toEqual({
			roomVersion: '12',
			creator: undefined,
			additionalCreators: [C],
		});
		// A create event without room_version is version 1.
		expect(roomCreationOf({ creator: A }).roomVersion).toBe('1');
	});
});

describe('reading power levels from the (fake) homeserver', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let client: MatrixClient;
	const retry = () => ({ deadline: Date.now() + 5_000 });
	beforeEach(async () => {
		hs = await startFakeHomeserver({ serverName: 'example.org', rateLimits: false });
		bot = hs.createUser('bot');
		hs.createUser('alice');
		hs.createUser('bob');
		client = new MatrixClient(
			hs.url,
			fetchTransport(() => `Bearer ${bot.accessToken}`),
		);
	});
	afterEach(() => hs.stop());

	test('a v12 room the bot created: the bot is unlimited though not in users', async () => {
		const roomId = hs.createRoom({ creator: bot.userId, roomVersion: '12', members: [A] });
		const levels = await readRoomPowerLevels(client, roomId, retry());
		expect(levels.ok && levels.value.users).toEqual({});
		expect(levels.ok && levelOf(levels.value, bot.userId)).toBe(Infinity);
		expect(levels.ok && levelOf(levels.value, A)).toBe(0);
	});

	test('a v10 room without a power-levels event: its creator has 100', async () => {
		const roomId = hs.createRoom({ creator: bot.userId, withoutPowerLevels: true });
		const rooms = await prepareRooms(client, [roomId], retry(), { readPowerLevels: true });
		const info = rooms.get(roomId)!;
		expect(info.powerLevels).toMatchObject({ withoutEvent: true, users: { [bot.userId]: 100 } });
		expect(levelOf(info.powerLevels, bot.userId)).toBe(100);
	});

	test('invite engine: in a v12 room created by the bot, kicking (power 50 needed) is allowed, kicking a co-creator is not', async () => {
		const roomId = hs.createRoom({
			creator: bot.userId,
			roomVersion: '12',
			additionalCreators: [B],
			members: [A, B],
			powerLevels: { kick: 50, invite: 50 },
		});
		const { results } = await revokeUsers(client, [
			{ room: roomId, userId: A },
			{ room: roomId, userId: B },
		]);
		expect(results.map((r) => [r.userId, r.status, r.reason])).toEqual([
			[A, 'removed', 'removed'],
			[B, 'notPermitted', 'targetPowerTooHigh'],
		]);
		// Who else is touched: the co-creator stays joined, nobody else changed.
		expect(hs.membership(roomId, B)).toBe('join');
		expect(hs.membership(roomId, A)).toBe('leave');
		expect(hs.membership(roomId, bot.userId)).toBe('join');
	});

	test('invite engine: a v10 room without power levels, created by someone else: the bot (0) may invite (default 0) but not kick (default 50)', async () => {
		const roomId = hs.createRoom({
			creator: A,
			withoutPowerLevels: true,
			members: [bot.userId, B],
		});
		hs.createUser('carol');
		const invited = await inviteUsers(client, [{ room: roomId, userId: C }], { perInvitee: false });
		expect(invited.results.map((r) => r.status)).toEqual(['invited']);
		const revoked = await revokeUsers(client, [{ room: roomId, userId: B }]);
		expect(revoked.results.map((r) => [r.status, r.reason])).toEqual([
			['notPermitted', 'insufficientPower'],
		]);
		expect(hs.membership(roomId, B)).toBe('join');
		expect(hs.countRequests({ path: /\/kick$/ })).toBe(0);
	});
});

describe('the command listener reads the sender’s power the same way', () => {
	let hs: FakeHomeserver;
	const listeners: CommandListener[] = [];
	afterEach(async () => {
		for (const l of listeners.splice(0)) await l.close();
		await hs.stop();
	});

	test('v12 creator (not in users) and the creator of a room without power levels may command; a member at 0 may not', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const creator12 = hs.createUser('creator12');
		const creatorNoPl = hs.createUser('creatornopl');
		const member = hs.createUser('member');
		const v12 = hs.createRoom({
			creator: creator12.userId,
			roomVersion: '12',
			members: [bot.userId, member.userId],
		});
		const bare = hs.createRoom({
			creator: creatorNoPl.userId,
			withoutPowerLevels: true,
			members: [bot.userId, member.userId],
		});
		const emitted: CommandEvent[] = [];
		const listener = new CommandListener({
			homeserverUrl: hs.url,
			accessToken: bot.accessToken,
			onCommand: (c) => void emitted.push(c),
			replyToRefused: false,
		});
		listeners.push(listener);
		await listener.start();
		expect(await listener.waitUntilPrepared(10_000)).toBe(true);
		const ok1 = hs.say(creator12.userId, v12, '!status');
		const ok2 = hs.say(creatorNoPl.userId, bare, '!status');
		hs.say(member.userId, v12, '!status');
		hs.say(member.userId, bare, '!status');
		const deadline = Date.now() + 10_000;
		while (emitted.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
		await new Promise((r) => setTimeout(r, 300));
		expect(emitted.map((e) => e.eventId).sort()).toEqual([ok1, ok2].sort());
	});
});
