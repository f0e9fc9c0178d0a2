import {
	Workflow,
	type INode,
	type INodeProperties,
	type INodePropertyOptions,
	type INodeType,
	type INodeTypes,
} from 'n8n-workflow';
import { DedupeStore } from '../../nodes/DedupeStore/DedupeStore.node';
import { MatrixInvite } from '../../nodes/MatrixInvite/MatrixInvite.node';
import { PretixOrders } from '../../nodes/PretixOrders/PretixOrders.node';

/**
 * Node subtitles name the chosen operation by its action, as n8n's node panel does ("Get many
 * attendees", not "getMany: attendee"). Evaluated the way the editor evaluates a subtitle
 * (editor-ui useNodeHelpers.getNodeSubtitle: Expression.getSimpleParameterValue, mode "internal").
 */
const nodeTypes = {
	getByName: () => undefined,
	getByNameAndVersion: () => undefined,
	getKnownTypes: () => ({}),
} as unknown as INodeTypes;

function subtitleOf(type: INodeType, parameters: Record<string, string>): unknown {
	const node = {
		id: '1',
		name: 'n',
		type: 'x',
		typeVersion: 1,
		position: [0, 0],
		parameters,
	} as INode;
	const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });
	return workflow.expression.getSimpleParameterValue(
		node,
		type.description.subtitle as string,
		'internal',
		{} as never,
		undefined,
		'',
	);
}

function operations(type: INodeType): Array<{ resource?: string; option: INodePropertyOptions }> {
	return type.description.properties
		.filter((property: INodeProperties) => property.name === 'operation')
		.flatMap((property) => {
			const resources = (property.displayOptions?.show?.resource as string[] | undefined) ?? [
				undefined,
			];
			return resources.flatMap((resource) =>
				(property.options as INodePropertyOptions[]).map((option) => ({ resource, option })),
			);
		});
}

describe.each([
	['Dedupe Store', new DedupeStore()],
	['Pretix Orders', new PretixOrders()],
	['Matrix Invite', new MatrixInvite()],
])('%s subtitle', (_name, type) => {
	const all = operations(type);

	it('has operations to name', () => {
		expect(all.length).toBeGreaterThan(3);
	});

	it.each(
		all.map(({ resource, option }) => [
			resource ?? '-',
			String(option.value),
			option.action ?? option.name,
		]),
	)('%s / %s → "%s"', (resource, operation, expected) => {
		const parameters: Record<string, string> = { operation };
		if (resource !== '-') parameters.resource = resource;
		expect(subtitleOf(type, parameters)).toBe(expected);
	});

	it('falls back to the raw value for an operation it does not know', () => {
		expect(subtitleOf(type, { resource: 'entry', operation: 'unknownOperation' })).toBe(
			'unknownOperation',
		);
	});
});
