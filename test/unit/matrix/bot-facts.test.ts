import { inspect } from 'node:util';

import { fetchTransport } from '../../../lib/http/fetch-transport';
import { BOT_FACT_TTL_MS, BotFacts, sharedBotFacts, BOT_FACTS_IDLE_MS } from '../../../lib/matrix/bot-facts';
import { MatrixClient } from '../../../lib/matrix/client';
import { inviteUsers } from '../../../lib/matrix/invite-engine';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

function botClient(hs: FakeHomeserver, token: string) {
	return new MatrixClient(hs.url, fetchTransport(() => `Bearer ${token}`));
}

/** One webhook run: one attendee into the room, the facts shared with the other runs. */
function oneInvite(hs: FakeHomeserver, token: string, room: string, userId: string, facts: BotFacts) {
	return inviteUsers(botClient(hs, token), [{ room, userId }], { perInvitee: false, botFacts: facts });
}

describe('facts about the bot shared between runs (BotFacts)', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs.stop());

	async function setUp() {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const owner = hs.createUser('owner');
		for (let i = 0; i < 4; i++) hs.createUser(`guest${i}`);
		const roomId = hs.createRoom({
			creator: owner.userId,
			alias: '#attendees:localhost',
			members: [bot.userId],
			powerLevels: { users: { [owner.userId]: 100, [bot.userId]: 50 }, invite: 50 },
		});
		return { bot, owner, roomId };
	}

	test('later one-invite runs skip whoami, the alias, the bot\'s membership and the power levels: one membership read and the invite each', async () => {
		const { bot, roomId } = await setUp();
		const facts = new BotFacts();
		const first = await oneInvite(hs, bot.accessToken, '#attendees:localhost', '@guest0:localhost', facts);
		expect(first.results[0].status).toBe('invited');
		const before = hs.countRequests();
		for (let i = 1; i < 4; i++) {
			const run = await oneInvite(hs, bot.accessToken, '#attendees:localhost', `@guest${i}:localhost`, facts);
			expect(run.results[0]).toMatchObject({ status: 'invited', roomId });
		}
		expect(hs.countRequests() - before).toBe(3 * 2);
		expect(hs.countRequests({ path: /\/account\/whoami$/ })).toBe(1);
		expect(hs.countRequests({ path: /\/directory\/room\// })).toBe(1);
		expect(hs.countRequests({ path: /\/state\/m\.room\.power_levels/ })).toBe(1);
		// Already invited is still read per person, every run.
		const again = await oneInvite(hs, bot.accessToken, '#attendees:localhost', '@guest1:localhost', facts);
		expect(again.results[0].status).toBe('alreadyInvited');
		for (let i = 0; i < 4; i++) expect(hs.inviteCount(roomId, `@guest${i}:localhost`)).toBe(1);
	});

	test('the bot removed from the room after it was remembered: the invite is refused as botNotInRoom, and the next run reads the room again', async () => {
		const { bot, roomId } = await setUp();
		const facts = new BotFacts();
		await oneInvite(hs, bot.accessToken, roomId, '@guest0:localhost', facts);
		expect(facts.botMayInvite(roomId)).toBe(true);
		hs.setMembership(roomId, bot.userId, 'leave');
		const stale = await oneInvite(hs, bot.accessToken, roomId, '@guest1:localhost', facts);
		expect(stale.results[0]).toMatchObject({ status: 'notPermitted', reason: 'botNotInRoom' });
		expect(facts.botMayInvite(roomId)).toBe(false);
		const next = await oneInvite(hs, bot.accessToken, roomId, '@guest2:localhost', facts);
		expect(next.results[0]).toMatchObject({ status: 'notPermitted', reason: 'botNotInRoom' });
		expect(hs.inviteCount(roomId, '@guest1:localhost')).toBe(0);
		expect(hs.inviteCount(roomId, '@guest2:localhost')).toBe(0);
	});

	test('lost power is noticed the same way: insufficientPower, nobody invited', async () => {
		const { bot, roomId } = await setUp();
		const facts = new BotFacts();
		await oneInvite(hs, bot.accessToken, roomId, '@guest0:localhost', facts);
		hs.setPowerLevels(roomId, { invite: 100 });
		const stale = await oneInvite(hs, bot.accessToken, roomId, '@guest1:localhost', facts);
		expect(stale.results[0]).toMatchObject({ status: 'notPermitted', reason: 'insufficientPower' });
		expect(facts.botMayInvite(roomId)).toBe(false);
		expect(hs.inviteCount(roomId, '@guest1:localhost')).toBe(0);
	});

	test('a rejected token forgets everything learned under it', async () => {
		const { bot, roomId } = await setUp();
		const facts = new BotFacts();
		await oneInvite(hs, bot.accessToken, roomId, '@guest0:localhost', facts);
		expect(facts.self()).toBe(bot.userId);
		await expect(oneInvite(hs, 'wrong-token', roomId, '@guest1:localhost', facts)).rejects.toThrow(/access token/);
		expect(facts.self()).toBeUndefined();
		expect(facts.botMayInvite(roomId)).toBe(false);
	});

	test('holds facts about the bot and rooms only, never an invitee', async () => {
		const { bot, roomId } = await setUp();
		const facts = new BotFacts();
		for (let i = 0; i < 4; i++) await oneInvite(hs, bot.accessToken, '#attendees:localhost', `@guest${i}:localhost`, facts);
		const held = inspect(facts, { depth: 5 });
		expect(held).toContain(roomId);
		expect(held).not.toMatch(/guest|owner/);
	});
});

describe('BotFacts expiry', () => {
	test('facts expire after BOT_FACT_TTL_MS', () => {
		let now = 0;
		const facts = new BotFacts(() => now);
		facts.rememberSelf('@bot:localhost');
		facts.rememberAlias('#a:localhost', '!r:localhost');
		facts.rememberBotMayInvite('!r:localhost');
		now = BOT_FACT_TTL_MS - 1;
		expect([facts.self(), facts.roomIdOf('#a:localhost'), facts.botMayInvite('!r:localhost')]).toEqual(['@bot:localhost', '!r:localhost', true]);
		now = BOT_FACT_TTL_MS;
		expect([facts.self(), facts.roomIdOf('#a:localhost'), facts.botMayInvite('!r:localhost')]).toEqual([undefined, undefined, false]);
	});

	test('sharedBotFacts: one per key; after BOT_FACTS_IDLE_MS unused a fresh one', () => {
		const a = sharedBotFacts('k1', 0);
		expect(sharedBotFacts('k1', 1000)).toBe(a);
		expect(sharedBotFacts('k2', 1000)).not.toBe(a);
		expect(sharedBotFacts('k1', 1000 + BOT_FACTS_IDLE_MS + 1)).not.toBe(a);
	});
});
