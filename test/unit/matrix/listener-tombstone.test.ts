/**
 * Room upgrades in the command listener (issue 18). The spec's "Room Upgrades" module: the old room
 * gets an `m.room.tombstone` state event (state key "") whose `content.replacement_room` names the
 * new room; clients follow it by joining that room. Synapse lets only a sender with the
 * `m.room.tombstone` power (100 by default) set it, so the listener reads the event and trusts the
 * homeserver for who sent it. The bot joins with `via` = the server of the tombstone's sender (the
 * server that upgraded the room is in the new one).
 */
import { CommandListener, type CommandEvent, type RoomUpgradeEvent } from '../../../lib/matrix/listener';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 20));
	}
}
const settle = () => new Promise((r) => setTimeout(r, 400));

describe('CommandListener and room upgrades (m.room.tombstone)', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let mod: ReturnType<FakeHomeserver['createUser']>;
	let attendee: ReturnType<FakeHomeserver['createUser']>;
	let oldRoom: string;
	let newRoom: string;
	let otherRoom: string;
	let listener: CommandListener | undefined;
	let commands: CommandEvent[];
	let upgrades: RoomUpgradeEvent[];

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot');
		mod = hs.createUser('mod');
		attendee = hs.createUser('attendee');
		oldRoom = hs.createRoom({ creator: mod.userId, members: [bot.userId, attendee.userId] });
		hs.setPowerLevel(oldRoom, mod.userId, 100);
		// The replacement room as an upgrade makes it: the upgrader is in it, nobody else yet.
		newRoom = hs.createRoom({ creator: mod.userId, preset: 'public_chat' });
		otherRoom = hs.createRoom({ creator: mod.userId, members: [bot.userId], preset: 'public_chat' });
		commands = [];
		upgrades = [];
	});
	afterEach(async () => {
		await listener?.close();
		listener = undefined;
		await hs.stop();
	});

	async function listen(options: { followRoomUpgrades?: boolean; rooms?: string[] } = {}) {
		listener = new CommandListener({
			homeserverUrl: hs.url,
			accessToken: bot.accessToken,
			allowlist: [mod.userId],
			followRoomUpgrades: options.followRoomUpgrades,
			rooms: options.rooms,
			onCommand: (c) => void commands.push(c),
			onRoomUpgrade: (u) => void upgrades.push(u),
		});
		await listener.start();
		expect(await listener.waitUntilPrepared(10_000)).toBe(true);
		await until(() => hs.countRequests({ path: /\/sync$/ }) >= 2);
	}
	const tombstone = (room: string, content: Record<string, unknown>, stateKey = '') =>
		hs.setState(room, 'm.room.tombstone', content, { sender: mod.userId, stateKey });

	test('a tombstone: the bot joins the replacement room via the sender\'s server and emits one roomUpgrade item', async () => {
		await listen({ followRoomUpgrades: true, rooms: [oldRoom] });
		tombstone(oldRoom, { body: 'This room has been replaced', replacement_room: newRoom });
		await until(() => upgrades.length >= 1);
		await settle();

		expect(upgrades).toEqual([
			{ kind: 'roomUpgrade', roomId: oldRoom, replacementRoom: newRoom, joined: true, eventId: expect.stringMatching(/^\$/), timestamp: expect.any(String) },
		]);
		// No command fields: nothing downstream can read it as a command.
		expect(upgrades[0]).not.toHaveProperty('command');
		expect(commands).toEqual([]);
		expect(hs.membership(newRoom, bot.userId)).toBe('join');
		const joins = hs.requests().filter((r) => r.method === 'POST' && r.path.includes('/join/'));
		expect(joins.map((r) => new URLSearchParams(r.query).getAll('via'))).toEqual([['localhost']]);
		// Nobody else was touched: the attendee is neither invited to nor in the new room, still in the old.
		expect(hs.membership(newRoom, attendee.userId)).toBeUndefined();
		expect(hs.membership(oldRoom, attendee.userId)).toBe('join');
		expect(hs.membership(oldRoom, bot.userId)).toBe('join');

		// The trigger follows the room: a command typed in the replacement room now counts.
		const eventId = hs.say(mod.userId, newRoom, '!status');
		await until(() => commands.length >= 1);
		expect(commands.map((c) => [c.command, c.roomId, c.eventId])).toEqual([['status', newRoom, eventId]]);
	});

	test('option off (as in workflows saved before it): no item, no join', async () => {
		await listen({ rooms: [oldRoom] });
		tombstone(oldRoom, { body: 'This room has been replaced', replacement_room: newRoom });
		hs.say(mod.userId, oldRoom, '!status');
		await until(() => commands.length >= 1);
		await settle();
		expect(upgrades).toEqual([]);
		expect(hs.membership(newRoom, bot.userId)).toBeUndefined();
	});

	test('not a tombstone of the room: another state key, no room ID, or a room outside the filter — ignored', async () => {
		await listen({ followRoomUpgrades: true, rooms: [oldRoom] });
		tombstone(oldRoom, { replacement_room: newRoom }, 'not-empty');
		tombstone(oldRoom, { replacement_room: '#alias:localhost' });
		tombstone(otherRoom, { replacement_room: newRoom });
		hs.say(mod.userId, oldRoom, '!status');
		await until(() => commands.length >= 1);
		await settle();
		expect(upgrades).toEqual([]);
		expect(hs.membership(newRoom, bot.userId)).toBeUndefined();
	});

	test('a replacement room the bot cannot join: the item still comes, with joined false', async () => {
		const closed = hs.createRoom({ creator: mod.userId });
		await listen({ followRoomUpgrades: true });
		tombstone(oldRoom, { body: 'This room has been replaced', replacement_room: closed });
		await until(() => upgrades.length >= 1);
		expect(upgrades.map((u) => [u.replacementRoom, u.joined])).toEqual([[closed, false]]);
		expect(hs.membership(closed, bot.userId)).toBeUndefined();
	});
});
