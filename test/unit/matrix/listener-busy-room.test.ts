/**
 * The command listener in a busy room (issue 14). A /sync answer carries only the last `limit`
 * timeline events of each room and flags the rest as a gap (`limited: true`; Synapse's default
 * limit is 10 — synapse/api/filtering.py, the fake copies it and its test "filters and /sync"
 * checks it); matrix-js-sdk does not fetch that gap. So a command followed by more than ten events
 * before the listener's next sync — a batch's invites are one member event each — was dropped.
 * Here every event of such a window is written in one go (synchronously), so one sync answers it.
 */
import { CommandListener, type CommandEvent } from '../../../lib/matrix/listener';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe('CommandListener in a busy room', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let mod: ReturnType<FakeHomeserver['createUser']>;
	let roomId: string;
	let listener: CommandListener;
	let emitted: CommandEvent[];

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot');
		mod = hs.createUser('mod');
		roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setPowerLevel(roomId, mod.userId, 50);
		emitted = [];
		listener = new CommandListener({
			homeserverUrl: hs.url,
			accessToken: bot.accessToken,
			onCommand: (c) => void emitted.push(c),
		});
		await listener.start();
		expect(await listener.waitUntilPrepared(10_000)).toBe(true);
		await until(() => hs.countRequests({ path: /\/sync$/ }) >= 2); // the long-poll is waiting
	});
	afterEach(async () => {
		await listener.close();
		await hs.stop();
	});

	test('a command followed by 40 invites in the same sync window is emitted once', async () => {
		const eventId = hs.say(mod.userId, roomId, '!batchinvite');
		for (let i = 0; i < 40; i++)
			hs.setMembership(roomId, `@guest${i}:localhost`, 'invite', { sender: bot.userId });
		await until(() => emitted.length >= 1);
		await new Promise((r) => setTimeout(r, 300));
		expect(emitted.map((c) => [c.command, c.eventId])).toEqual([['batchinvite', eventId]]);
		// Nobody invited was touched by the listener: their invites are still pending.
		expect(hs.membership(roomId, '@guest0:localhost')).toBe('invite');
		expect(hs.membership(roomId, '@guest39:localhost')).toBe('invite');
	});

	test('a command followed by 30 chat messages in the same sync window is emitted once', async () => {
		const eventId = hs.say(mod.userId, roomId, '!status');
		for (let i = 0; i < 30; i++) hs.say(mod.userId, roomId, `chatter ${i}`);
		await until(() => emitted.length >= 1);
		await new Promise((r) => setTimeout(r, 300));
		expect(emitted.map((c) => [c.command, c.eventId])).toEqual([['status', eventId]]);
	});
});
