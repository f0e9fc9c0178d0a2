import {
	resolveWebhookDescriptionField,
	Workflow,
	type INode,
	type INodeParameters,
	type INodeTypes,
	type IWebhookDescription,
} from 'n8n-workflow';

import { PretixTrigger } from '../../../nodes/PretixTrigger/PretixTrigger.node';
import { describeOnEachExpressionEngine, withIsolate } from '../../harness/expression-engines';

/**
 * The Pretix Trigger's webhook path is declared with n8n's `fromFunction`: n8n 2.40 resolves it
 * from the node's parameters without its expression engine when they are static (n8n-workflow
 * webhook-description-fields.ts, `resolveWebhookDescriptionField`, called by the webhook service on
 * every request), and evaluates the template otherwise and in the editor. Both must give the path
 * the trigger had as a plain expression, on n8n's legacy and its isolated-vm engine.
 */
const BEFORE =
	'={{ ["pathSecret", "pathSecretAndBasicAuth"].includes($parameter["callerAuth"]) && $parameter["pathSecret"] ? "pretix/" + $parameter["pathSecret"] : "pretix" }}';

const trigger = new PretixTrigger();
const description = trigger.description.webhooks![0] as IWebhookDescription;
const nodeTypes = {
	getByName: () => trigger,
	getByNameAndVersion: () => trigger,
	getKnownTypes: () => ({}),
} as unknown as INodeTypes;

function workflowWith(parameters: INodeParameters): { workflow: Workflow; node: INode } {
	const workflow = new Workflow({
		nodes: [
			{
				id: '1',
				name: 'pretix webhook',
				type: 'n8n-nodes-pretix-matrix.pretixTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters,
			},
		],
		connections: {},
		active: true,
		nodeTypes,
	});
	// The workflow's own node: its parameters carry the defaults the constructor applied.
	return { workflow, node: workflow.getNode('pretix webhook')! };
}

async function evaluate(parameters: INodeParameters, template: string): Promise<unknown> {
	const { workflow, node } = workflowWith(parameters);
	return await withIsolate(workflow, () =>
		workflow.expression.getSimpleParameterValue(node, template, 'internal', {}),
	);
}

const staticCases: Array<[string, INodeParameters, string]> = [
	[
		'path secret',
		{ callerAuth: 'pathSecret', pathSecret: 'Bv7pQ3xN9kT2wR6z' },
		'pretix/Bv7pQ3xN9kT2wR6z',
	],
	[
		'path secret and Basic auth',
		{ callerAuth: 'pathSecretAndBasicAuth', pathSecret: 'Bv7pQ3xN9kT2wR6z' },
		'pretix/Bv7pQ3xN9kT2wR6z',
	],
	[
		'Basic auth only (a secret left over is not used)',
		{ callerAuth: 'basicAuth', pathSecret: 'Bv7pQ3xN9kT2wR6z' },
		'pretix',
	],
	['path secret chosen, none set', { callerAuth: 'pathSecret', pathSecret: '' }, 'pretix'],
	['defaults', {}, 'pretix'],
];

describeOnEachExpressionEngine('the webhook path', () => {
	test.each(staticCases)(
		'%s: resolved without the engine, equal to the template and the old expression',
		async (_name, parameters, expected) => {
			const { node } = workflowWith(parameters);
			expect(resolveWebhookDescriptionField(node, description, 'path')).toEqual({
				resolved: true,
				value: expected,
			});
			expect(await evaluate(parameters, description.path as string)).toBe(expected);
			expect(await evaluate(parameters, BEFORE)).toBe(expected);
		},
	);

	test('a path secret given as an expression is left to the engine, which still gives the same path', async () => {
		const parameters = { callerAuth: 'pathSecret', pathSecret: '={{ "Bv7pQ3xN" + "9kT2wR6z" }}' };
		const { node } = workflowWith(parameters);
		expect(resolveWebhookDescriptionField(node, description, 'path')).toEqual({ resolved: false });
		expect(await evaluate(parameters, description.path as string)).toBe('pretix/Bv7pQ3xN9kT2wR6z');
		expect(await evaluate(parameters, BEFORE)).toBe('pretix/Bv7pQ3xN9kT2wR6z');
	});
});
