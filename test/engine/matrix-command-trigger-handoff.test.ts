/**
 * Matrix Command Trigger → n8n: a chat command is not lost when n8n fails to start its execution
 * (issue 14: under load n8n's main process logged `timeout exceeded when trying to connect` for the
 * `!batchinvite` emit and never ran the batch), and it never runs twice. The harness's emit keeps
 * n8n 2.40's contract (test/harness/engine.ts `startTrigger`).
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { trackHandles } from '../fakes/matrix/handles';
import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { startTrigger, wf, type TriggerHandle } from '../harness/engine';

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe('Matrix Command Trigger hands each command to n8n until an execution starts', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let mod: ReturnType<FakeHomeserver['createUser']>;
	let bystander: ReturnType<FakeHomeserver['createUser']>;
	let roomId: string;
	let creds: { matrixBotApi: ICredentialDataDecryptedObject };
	const handles: TriggerHandle[] = [];

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot');
		mod = hs.createUser('mod');
		bystander = hs.createUser('bystander');
		roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId, bystander.userId] });
		creds = {
			matrixBotApi: {
				homeserverUrl: hs.url,
				authMode: 'accessToken',
				accessToken: bot.accessToken,
			},
		};
	});
	afterEach(async () => {
		for (const h of handles.splice(0)) await h.close();
		await hs.stop();
	});

	const synced = async () => until(() => hs.countRequests({ path: /\/sync$/ }) >= 2);
	const workflow = () =>
		wf([
			{
				name: 'Commands',
				type: 'matrixCommandTrigger',
				parameters: {},
				credentials: ['matrixBotApi'],
			},
			{
				name: 'Reply',
				type: 'matrixInvite',
				credentials: ['matrixBotApi'],
				parameters: {
					operation: 'message',
					room: '={{ $json.roomId }}',
					text: '={{ "ran " + $json.command }}',
				} as never,
			},
		]);
	const botReplies = () =>
		hs
			.timeline(roomId, 'm.room.message')
			.filter((e) => e.sender === bot.userId)
			.map((e) => e.content.body);

	test('n8n fails to start the execution twice: the command runs on the third hand-off, once', async () => {
		const t = await startTrigger({
			workflow: workflow(),
			node: 'Commands',
			credentials: creds,
			failStarts: 2,
		});
		handles.push(t);
		await synced();
		hs.say(mod.userId, roomId, '!status');
		await until(() => t.runs.length === 1);
		expect(t.failedStarts).toBe(2);
		expect(t.emitted).toHaveLength(1);
		expect(t.emitted[0][0][0].json).toMatchObject({ command: 'status', sender: mod.userId });
		expect(t.runs[0].status).toBe('success');
		// Nothing more arrives: one reply, nothing said to or about anyone else in the room.
		await new Promise((r) => setTimeout(r, 1500));
		expect(t.emitted).toHaveLength(1);
		expect(t.duplicates).toBe(0);
		expect(botReplies()).toEqual(['ran status']);
		expect(hs.membership(roomId, bystander.userId)).toBe('join');
	});

	test('a hand-off that n8n did start but reported as failed is refused by its deduplication key: no second run', async () => {
		const t = await startTrigger({
			workflow: workflow(),
			node: 'Commands',
			credentials: creds,
			rejectAfterRun: 1,
		});
		handles.push(t);
		await synced();
		hs.say(mod.userId, roomId, '!status');
		await until(() => t.duplicates === 1);
		await new Promise((r) => setTimeout(r, 1500));
		expect(t.runs).toHaveLength(1);
		expect(t.emitted).toHaveLength(1);
		expect(botReplies()).toEqual(['ran status']);
	});

	test('two commands while n8n cannot start anything: each runs once when it can', async () => {
		const t = await startTrigger({
			workflow: workflow(),
			node: 'Commands',
			credentials: creds,
			failStarts: 3,
		});
		handles.push(t);
		await synced();
		hs.say(mod.userId, roomId, '!status');
		hs.say(mod.userId, roomId, '!stats');
		await until(() => t.runs.length === 2);
		await new Promise((r) => setTimeout(r, 1500));
		expect(t.failedStarts).toBe(3);
		expect(t.duplicates).toBe(0);
		expect(t.emitted.map((data) => data[0][0].json.command).sort()).toEqual(['stats', 'status']);
		expect(botReplies().sort()).toEqual(['ran stats', 'ran status']);
	});

	test('closing the trigger while n8n keeps failing stops the hand-offs and leaves no timers', async () => {
		const tracker = trackHandles();
		const t = await startTrigger({
			workflow: workflow(),
			node: 'Commands',
			credentials: creds,
			failStarts: 1000,
		});
		await synced();
		hs.say(mod.userId, roomId, '!status');
		await until(() => t.failedStarts >= 1);
		await t.close();
		const failedAtClose = t.failedStarts;
		await hs.stop();
		await new Promise((r) => setTimeout(r, 2500));
		expect(t.failedStarts).toBe(failedAtClose);
		expect(t.runs).toHaveLength(0);
		expect(tracker.alive()).toEqual([]);
		tracker.stop();
		hs = await startFakeHomeserver({ rateLimits: false });
	});
});
