/**
 * MXID Validate through n8n's engine: routing to Valid / Invalid, the result fields, options, and
 * the existence check against the fake homeserver (404 → invalid, unreachable → flagged).
 */
import type { IDataObject } from 'n8n-workflow';

import { REASON_MESSAGES } from '../../lib/mxid';
import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { runWorkflow, wf } from '../harness/engine';

/** The Matrix answers of the pretix fixture orders (see fixtures/pretix/README.md). */
const fixtureAnswers: IDataObject[] = [
	{ orderCode: 'ABC3K', matrixId: '@alice:example.org' },
	{ orderCode: 'F7KMA', matrixId: 'ivan:example.org' },
	{ orderCode: 'G8WXY', matrixId: '@judy' },
	{ orderCode: 'H3TUV', matrixId: '@ken smith:example.org' },
	{ orderCode: 'J9QRS', matrixId: '@Laura:Example.ORG' },
	{ orderCode: 'K7MNP', matrixId: 'https://matrix.to/#/@mallory:example.org' },
	{ orderCode: 'L3DFG', matrixId: '@niaj:example.org  ' },
	{ orderCode: 'M8BCX', matrixId: null },
];

const validate = (parameters: IDataObject = {}, credentials?: string[]) =>
	wf([{ name: 'Validate', type: 'mxidValidate', parameters: parameters as never, credentials }]);

describe('MXID Validate without existence check', () => {
	test('valid and invalid answers are routed, items otherwise unchanged', async () => {
		const run = await runWorkflow({ workflow: validate(), input: fixtureAnswers });
		expect(run.status).toBe('success');
		const valid = run.output('Validate', 0);
		const invalid = run.output('Validate', 1);
		expect(valid.map((i) => [i.orderCode, (i.mxid as IDataObject).userId])).toEqual([
			['ABC3K', '@alice:example.org'],
			['F7KMA', '@ivan:example.org'],
			['J9QRS', '@laura:example.org'],
			['K7MNP', '@mallory:example.org'],
			['L3DFG', '@niaj:example.org'],
		]);
		expect(valid[2]).toEqual({
			orderCode: 'J9QRS',
			matrixId: '@Laura:Example.ORG',
			mxid: {
				valid: true,
				userId: '@laura:example.org',
				reason: null,
				message: null,
				notes: [
					{ code: 'lowercasedLocalpart', message: expect.stringMatching(/lower case/) },
					{ code: 'lowercasedServerName', message: expect.stringMatching(/lower case/) },
				],
				existence: 'notChecked',
				flagged: false,
			},
		});
		expect(invalid.map((i) => [i.orderCode, (i.mxid as IDataObject).reason])).toEqual([
			['G8WXY', 'missingServer'],
			['H3TUV', 'containsSpace'],
			['M8BCX', 'empty'],
		]);
		const ken = invalid[1].mxid as IDataObject;
		expect(ken.message).toBe(REASON_MESSAGES.containsSpace);
		expect(ken.message).not.toContain('ken');
		expect(ken.candidate).toBe('@ken smith:example.org');
		expect(run.items('Validate', 1).map((i) => i.pairedItem)).toEqual([
			{ item: 2 },
			{ item: 3 },
			{ item: 7 },
		]);
	});

	test('options: another field (dot path), result field, write back, default server', async () => {
		const input = [{ answers: { matrix: 'Alice' } }, { answers: { matrix: '#room:example.org' } }];
		const run = await runWorkflow({
			workflow: validate({
				field: 'answers.matrix',
				options: { resultField: 'check', writeBack: true, defaultServer: 'example.org' },
			}),
			input,
		});
		expect(run.output('Validate', 0)).toEqual([
			{
				answers: { matrix: '@alice:example.org' },
				check: expect.objectContaining({ valid: true, userId: '@alice:example.org' }),
			},
		]);
		expect(run.output('Validate', 1)).toEqual([
			{
				answers: { matrix: '#room:example.org' },
				check: expect.objectContaining({ valid: false, reason: 'isRoomOrAlias' }),
			},
		]);
	});

	test('garbage never crashes the node', async () => {
		const input = [
			{ matrixId: 42 },
			{ matrixId: { a: 1 } },
			{ matrixId: ['@a:b.c'] },
			{ matrixId: '\u0000\u200B' },
			{ other: true },
			{ matrixId: 'x'.repeat(100_000) },
		];
		const run = await runWorkflow({ workflow: validate(), input });
		expect(run.status).toBe('success');
		expect(run.output('Validate', 0)).toEqual([]);
		expect(run.output('Validate', 1).map((i) => (i.mxid as IDataObject).reason)).toEqual([
			'notText',
			'notText',
			'notText',
			'missingServer',
			'empty',
			'tooLong',
		]);
	});
});

describe('MXID Validate with the existence check', () => {
	let homeserver: FakeHomeserver;
	let credentials: Record<string, IDataObject>;
	beforeEach(async () => {
		homeserver = await startFakeHomeserver({ serverName: 'example.org', rateLimits: false });
		const bot = homeserver.createUser('bot');
		homeserver.createUser('alice');
		homeserver.createUser('@grace:example.net');
		homeserver.setRemoteServer('down.example.net', 'unreachable');
		credentials = {
			matrixBotApi: {
				homeserverUrl: homeserver.url,
				authentication: 'accessToken',
				accessToken: bot.accessToken,
			},
		};
	});
	afterEach(() => homeserver.stop());

	const check = () => validate({ checkExistence: true }, ['matrixBotApi']);

	test('404 → invalid unknownUser; unreachable server → valid but flagged', async () => {
		const input = [
			{ matrixId: '@Alice:example.org' },
			{ matrixId: '@nobody:example.org' },
			{ matrixId: '@grace:example.net' },
			{ matrixId: '@dave:down.example.net' },
			{ matrixId: '@judy' },
		];
		const run = await runWorkflow({ workflow: check(), credentials: credentials as never, input });
		expect(run.status).toBe('success');
		expect(
			run
				.output('Validate', 0)
				.map((i) => [
					(i.mxid as IDataObject).userId,
					(i.mxid as IDataObject).existence,
					(i.mxid as IDataObject).flagged,
				]),
		).toEqual([
			['@alice:example.org', 'exists', false],
			['@grace:example.net', 'exists', false],
			['@dave:down.example.net', 'unreachable', true],
		]);
		expect(
			run
				.output('Validate', 1)
				.map((i) => [
					i.matrixId,
					(i.mxid as IDataObject).reason,
					(i.mxid as IDataObject).existence,
				]),
		).toEqual([
			['@nobody:example.org', 'unknownUser', 'notFound'],
			['@judy', 'missingServer', 'notChecked'],
		]);
		expect((run.output('Validate', 1)[0].mxid as IDataObject).message).toBe(
			REASON_MESSAGES.unknownUser,
		);
		// One look-up per distinct valid ID; invalid IDs are never sent.
		expect(homeserver.countRequests({ method: 'GET', path: /\/profile\// })).toBe(4);
	});

	test('our own homeserver down → every item valid and flagged, none rejected', async () => {
		await homeserver.setDown('refuse');
		const run = await runWorkflow({
			workflow: check(),
			credentials: credentials as never,
			input: [{ matrixId: '@alice:example.org' }, { matrixId: '@nobody:example.org' }],
		});
		expect(run.status).toBe('success');
		expect(
			run
				.output('Validate', 0)
				.map((i) => [(i.mxid as IDataObject).existence, (i.mxid as IDataObject).flagged]),
		).toEqual([
			['unreachable', true],
			['unreachable', true],
		]);
		expect(run.output('Validate', 1)).toEqual([]);
	});

	test('a rejected bot token stops the node with a clear error', async () => {
		credentials.matrixBotApi.accessToken = 'not-a-valid-token';
		const run = await runWorkflow({
			workflow: check(),
			credentials: credentials as never,
			input: [{ matrixId: '@alice:example.org' }],
		});
		expect(run.status).toBe('error');
		expect(run.error?.message).toMatch(/rejected the bot's access token \(401\)/);
	});
});
