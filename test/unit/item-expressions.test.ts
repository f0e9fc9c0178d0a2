import { createRunExecutionData, Workflow, type IDataObject, type INodeTypes } from 'n8n-workflow';

import { simpleExpressionValue } from '../../lib/item-expressions';
import { describeOnEachExpressionEngine, withIsolate } from '../harness/expression-engines';

const attendee = {
	organizer: 'exampleorg',
	event: 'summit26',
	positionId: 1234,
	orderCode: 'ABC12',
	matrixId: '@Alice:example.org',
	subeventId: null,
	mxid: { valid: true, userId: '@alice:example.org' },
	plan: { room: '!room:example.org', userId: '@alice:example.org', removeMember: false },
};
const invalid = { ...attendee, matrixId: null, mxid: { valid: false, reason: 'missingServer' } };
const noMxid = { organizer: 'o', event: 'e' };

describe('simple per-item expressions, computed without the expression engine', () => {
	test.each([
		['={{ $json.organizer }}/{{ $json.event }}', attendee, 'exampleorg/summit26'],
		['={{ $json.positionId }}', attendee, 1234],
		['={{ $json.plan.room }}', attendee, '!room:example.org'],
		["={{ $json.mxid?.valid ? $json.mxid.userId : '' }}", attendee, '@alice:example.org'],
		["={{ $json.mxid?.valid ? $json.mxid.userId : '' }}", invalid, ''],
		["={{ $json.mxid?.valid ? $json.mxid.userId : '' }}", noMxid, ''],
		["={{ $json.mxid?.valid ? '' : ($json.mxid?.reason ?? 'missing') }}", invalid, 'missingServer'],
		["={{ $json.mxid?.valid ? '' : ($json.mxid?.reason ?? 'missing') }}", noMxid, 'missing'],
		["={{ $json.mxid?.valid ? '' : ($json.mxid?.reason ?? 'missing') }}", attendee, ''],
		["={{ $json.matrixId ?? '' }}", attendee, '@Alice:example.org'],
		["={{ $json.matrixId ?? '' }}", invalid, ''],
		['={{ !$json.plan.removeMember }}', attendee, true],
		// null and missing fields (Plan's defaults for a ticket without variation, date or add-on):
		// n8n returns them as they are, and renders them as '' inside text.
		['={{ $json.subeventId }}', attendee, null],
		['={{ $json.missing }}', attendee, undefined],
		['={{ $json.mxid?.missing }}', attendee, undefined],
		['=id {{ $json.subeventId }}', attendee, 'id '],
		['=id {{ $json.missing }}.', attendee, 'id .'],
		['=Order {{ $json.orderCode }}, ticket {{ $json.positionId }}', attendee, 'Order ABC12, ticket 1234'],
		// Estimate in the batch template.
		["={{ $json.plan.action === 'invite' ? $json.plan.room : '' }}", { plan: { action: 'invite', room: '!r:x' } }, '!r:x'],
		["={{ $json.plan.action === 'invite' ? $json.plan.room : '' }}", { plan: { action: 'skip', room: '!r:x' } }, ''],
		["={{ $json.plan.action !== 'invite' }}", { plan: { action: 'skip' } }, true],
		["={{ $json.missing?.action === 'invite' ? 'yes' : 'no' }}", {}, 'no'],
	])('%s', (raw, json, expected) => {
		expect(simpleExpressionValue(raw, json as never)).toEqual({ value: expected });
	});

	test.each([
		// Objects, which n8n renders in its own way: left to n8n.
		['={{ $json.plan }}', attendee],
		['=room {{ $json.plan }}', attendee],
		// Paths JavaScript would throw on, and everything beyond the small grammar.
		['={{ $json.nothing.deeper }}', attendee],
		['={{ $json.constructor }}', attendee],
		['={{ $json.event.split("/")[0] }}', attendee],
		['={{ $input.all().length }}', attendee],
		["={{ $('Request').first().json.roomId }}", attendee],
		['={{ 2 + 2 }}', attendee],
		['={{ $json.orderCode }', attendee],
		['=no braces', attendee],
		['plain text', attendee],
	])('left to n8n: %s', (raw, json) => {
		expect(simpleExpressionValue(raw, json as never)).toBeUndefined();
	});
});

/**
 * The rule copied: n8n's own evaluation (`workflow.expression.getParameterValue`, what
 * getNodeParameter returns for an item), on its legacy engine and on the isolated-vm engine n8n 2.x
 * runs by default. Every expression the shortcut computes must give exactly n8n's value.
 */
describeOnEachExpressionEngine('parity with n8n evaluating the same expression', () => {
	const nodeTypes = {
		getByName: () => ({ description: { properties: [] } }),
		getByNameAndVersion: () => ({ description: { properties: [] } }),
		getKnownTypes: () => ({}),
	} as unknown as INodeTypes;
	const cases: Array<[string, IDataObject]> = [
		['={{ $json.organizer }}/{{ $json.event }}', attendee],
		['={{ $json.positionId }}', attendee],
		['={{ $json.subeventId }}', attendee],
		['={{ $json.missing }}', attendee],
		['={{ $json.mxid?.missing }}', attendee],
		['=id {{ $json.subeventId }}', attendee],
		['=id {{ $json.missing }}.', attendee],
		["={{ $json.matrixId ?? '' }}", invalid],
		["={{ $json.mxid?.valid ? $json.mxid.userId : '' }}", noMxid],
		['={{ !$json.plan.removeMember }}', attendee],
		["={{ $json.plan.action !== 'invite' }}", { plan: { action: 'skip' } }],
		['=Order {{ $json.orderCode }}, ticket {{ $json.positionId }}', attendee],
	];
	async function n8nValue(raw: string, json: IDataObject): Promise<unknown> {
		const workflow = new Workflow({
			nodes: [{ id: '1', name: 'Plan', type: 'test.node', typeVersion: 1, position: [0, 0], parameters: {} }],
			connections: {},
			active: false,
			nodeTypes,
		});
		return await withIsolate(workflow, () =>
			workflow.expression.getParameterValue(raw, createRunExecutionData(), 0, 0, 'Plan', [{ json }], 'manual', {}),
		);
	}

	test.each(cases)('%s', async (raw, json) => {
		const ours = simpleExpressionValue(raw, json);
		expect(ours).toBeDefined();
		expect(ours!.value).toStrictEqual(await n8nValue(raw, json));
	});
});
