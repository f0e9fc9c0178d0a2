/**
 * The command listener in an encrypted room, against the fake homeserver (e2ee.ts), with a second
 * real matrix-js-sdk client with Rust crypto as the organizer.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CommandListener, type CommandEvent } from '../../../lib/matrix/listener';
import { startCryptoClient, type CryptoClient } from '../../fakes/matrix/crypto-client';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';
import { trackHandles } from '../../fakes/matrix/handles';

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 25));
	}
}

describe('CommandListener in encrypted rooms', () => {
	let hs: FakeHomeserver;
	let folder: string;
	let organizer: CryptoClient | undefined;
	const listeners: CommandListener[] = [];
	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		folder = mkdtempSync(join(tmpdir(), 'crypto-listener-'));
	});
	afterEach(async () => {
		for (const l of listeners.splice(0)) await l.close();
		await organizer?.stop();
		organizer = undefined;
		await hs.stop();
		rmSync(folder, { recursive: true, force: true });
	});

	test('an encrypted command is read and its reply is encrypted', async () => {
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setState(roomId, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		const commands: CommandEvent[] = [];
		const errors: string[] = [];
		const listener = new CommandListener({
			homeserverUrl: hs.url,
			accessToken: bot.accessToken,
			cryptoFolder: folder,
			helpOnUnknown: true,
			onCommand: (c) => void commands.push(c),
			onError: (e) => void errors.push(e.message),
		});
		listeners.push(listener);
		await listener.start();
		expect(await listener.waitUntilPrepared()).toBe(true);
		expect(listener.encrypted).toBe(true);
		organizer = await startCryptoClient(hs.url, mod);
		await until(() => !!hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId));
		await organizer.say(roomId, '!status');
		await until(() => commands.length === 1);
		expect(commands[0]).toMatchObject({ command: 'status', roomId, sender: mod.userId });
		await organizer.say(roomId, '!nonsense');
		await until(() => organizer!.received.some((m) => !m.failed));
		expect(organizer.received.find((m) => !m.failed)?.content.body).toMatch(/^Unknown command/);
		expect(hs.timeline(roomId).filter((e) => e.type === 'm.room.message')).toEqual([]);
		expect(errors).toEqual([]);
		expect(statSync(join(folder, 'pretix-matrix-crypto')).mode & 0o777).toBe(0o700);
	});

	test('a command without its room key is reported to the operator once, without IDs, and never emitted', async () => {
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setState(roomId, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		const commands: CommandEvent[] = [];
		const errors: string[] = [];
		const listener = new CommandListener({
			homeserverUrl: hs.url,
			accessToken: bot.accessToken,
			cryptoFolder: folder,
			onCommand: (c) => void commands.push(c),
			onError: (e) => void errors.push(e.message),
		});
		listeners.push(listener);
		await listener.start();
		expect(await listener.waitUntilPrepared()).toBe(true);
		// Ciphertext of a Megolm session the bot was never given (as a client that skipped it sends).
		const undecryptable = (n: number) => ({
			algorithm: 'm.megolm.v1.aes-sha2',
			ciphertext: `AwgAEnB${n}notarealciphertext`,
			device_id: mod.deviceId,
			sender_key: 'aW52YWxpZHNlbmRlcmtleWludmFsaWRzZW5kZXJrZXk',
			session_id: `c2Vzc2lvbl9pZF9ub3RfaW5fc3RvcmU${n}`,
		});
		hs.say(mod.userId, roomId, '', { type: 'm.room.encrypted', content: undecryptable(1) });
		hs.say(mod.userId, roomId, '', { type: 'm.room.encrypted', content: undecryptable(2) });
		await until(() => errors.length >= 1);
		await new Promise((r) => setTimeout(r, 300));
		expect(errors).toHaveLength(1);
		expect(errors[0]).toMatch(/could not be decrypted/);
		expect(errors[0]).not.toMatch(/@|!|\$|localhost/);
		expect(commands).toEqual([]);
	});

	test('unencrypted rooms: no crypto at all, and closing leaves nothing running', async () => {
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		const handles = trackHandles();
		const commands: CommandEvent[] = [];
		const listener = new CommandListener({
			homeserverUrl: hs.url,
			accessToken: bot.accessToken,
			cryptoFolder: folder,
			onCommand: (c) => void commands.push(c),
		});
		await listener.start();
		expect(await listener.waitUntilPrepared()).toBe(true);
		expect(listener.encrypted).toBe(false);
		hs.say(mod.userId, roomId, '!status');
		await until(() => commands.length === 1);
		await listener.close();
		expect(hs.countRequests({ path: /\/(keys|sendToDevice|room_keys)\// })).toBe(0);
		expect(await handles.settled()).toEqual([]);
		handles.stop();
	});

	test('encrypted: closing the listener leaves no timers or sockets behind', async () => {
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setState(roomId, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		const handles = trackHandles();
		const listener = new CommandListener({ homeserverUrl: hs.url, accessToken: bot.accessToken, cryptoFolder: folder, onCommand: () => undefined });
		await listener.start();
		expect(await listener.waitUntilPrepared()).toBe(true);
		expect(listener.encrypted).toBe(true);
		await until(() => !!hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId));
		await listener.close();
		const left = await handles.settled(5_000);
		if (left.length) console.log(handles.stacks().join('\n---\n'));
		expect(left).toEqual([]);
		handles.stop();
	});

	test('two triggers of one bot: one holds the device, the other decrypts and answers through it', async () => {
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setState(roomId, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		const got: Record<string, CommandEvent[]> = { holder: [], other: [] };
		const errors: string[] = [];
		const make = (name: 'holder' | 'other', commands: string[]) =>
			new CommandListener({
				homeserverUrl: hs.url,
				accessToken: bot.accessToken,
				cryptoFolder: folder,
				commands,
				// The other trigger answers commands it does not know: its reply goes through the holder.
				helpOnUnknown: name === 'other',
				onCommand: (c) => void got[name].push(c),
				onError: (e) => void errors.push(e.message),
			});
		const holder = make('holder', ['status']);
		listeners.push(holder);
		await holder.start();
		const other = make('other', ['stats']);
		listeners.push(other);
		await other.start();
		expect(await other.waitUntilPrepared()).toBe(true);
		expect([holder.encrypted, other.encrypted]).toEqual([true, false]);
		await until(() => !!hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId));
		organizer = await startCryptoClient(hs.url, mod);
		const stats = await organizer.say(roomId, '!stats');
		const status = await organizer.say(roomId, '!status');
		// Within the listener's own window for a late room key (about a minute), however busy the machine.
		await until(() => got.other.length === 1 && got.holder.length === 1, 60_000);
		expect(got.other.map((c) => [c.command, c.eventId])).toEqual([['stats', stats]]);
		expect(got.holder.map((c) => [c.command, c.eventId])).toEqual([['status', status]]);
		// One device, one upload of its keys: the second trigger made no Olm account of its own.
		expect(hs.e2ee.deviceKeyUploads.filter((u) => u.userId === bot.userId)).toHaveLength(1);
		await until(() => organizer!.received.some((m) => m.sender === bot.userId && !m.failed), 60_000);
		expect(organizer.received.find((m) => m.sender === bot.userId)?.content.body).toMatch(/^Unknown command/);
		expect(hs.timeline(roomId).filter((e) => e.type === 'm.room.message')).toEqual([]);
		expect(errors).toEqual([]);
	}, 150_000);

	test("a device whose keys another client published (a token copied from Element) is refused, nothing is uploaded", async () => {
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setState(roomId, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		// The Element session the token came from has its own Olm account on this device.
		const element = await startCryptoClient(hs.url, bot);
		await until(() => !!hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId));
		const elementKeys = structuredClone(hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId));
		await element.stop();
		const listener = new CommandListener({ homeserverUrl: hs.url, accessToken: bot.accessToken, cryptoFolder: folder, onCommand: () => undefined });
		listeners.push(listener);
		await expect(listener.start()).rejects.toThrow(/already has encryption keys of another client/);
		expect(hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId)).toEqual(elementKeys);
		expect(hs.e2ee.deviceKeyUploads.filter((u) => u.userId === bot.userId)).toHaveLength(1);
	});

	test('with a store passphrase: the file holds no Matrix ID in clear, the same passphrase reopens it, another one is refused', async () => {
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setState(roomId, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		const open = async (passphrase: string) => {
			const listener = new CommandListener({ homeserverUrl: hs.url, accessToken: bot.accessToken, cryptoFolder: folder, cryptoPassphrase: passphrase, onCommand: () => undefined });
			listeners.push(listener);
			await listener.start();
			return listener;
		};
		const first = await open('correct horse battery staple');
		await until(() => !!hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId));
		const keys = structuredClone(hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId));
		await first.close();
		const dir = join(folder, 'pretix-matrix-crypto');
		const [file] = readdirSync(dir);
		expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
		const bytes = readFileSync(join(dir, file)).toString('latin1');
		expect(bytes).not.toContain(bot.userId);
		expect(bytes).not.toContain(bot.deviceId);
		const second = await open('correct horse battery staple');
		expect(second.encrypted).toBe(true);
		await second.close();
		expect(hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId)).toEqual(keys);
		await expect(open('wrong')).rejects.toThrow(/encryption device could not be started/);
		expect(hs.e2ee.deviceKeysOf(bot.userId, bot.deviceId)).toEqual(keys);
	});
});
