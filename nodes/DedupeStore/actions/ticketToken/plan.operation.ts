import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { DEFAULT_LEASE_SECONDS, planTicketTokens, type Ledger, type TicketTokenInput } from '../../../../lib/store';
import { errorItem, show, toNodeError } from '../common';

const ops = ['plan'];

function field(displayName: string, name: string, value: string, description: string): INodeProperties {
	return { displayName, name, type: 'string', default: value, description, displayOptions: show('ticketToken', ops) };
}

export const description: INodeProperties[] = [
	field('Event', 'event', '={{ $json.organizer }}/{{ $json.event }}', 'Ledger event key: organizer/event'),
	field('Ticket', 'ticket', '={{ $json.positionId }}', 'The pretix position ID (one ticket)'),
	field('Order Code', 'orderCode', '={{ $json.orderCode }}', 'Stored as a keyed hash, so the order can be looked up or forgotten'),
	field('Access', 'access', '={{ $json.access }}', 'granted, pending or revoked (set by the Pretix nodes)'),
	field('Needs an Account', 'needsAccount', '={{ !$json.matrixId }}', 'Whether the attendee has no Matrix account yet (e.g. an empty answer, or "I need an account")'),
	{
		displayName: 'Lease (Seconds)',
		name: 'leaseSeconds',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: DEFAULT_LEASE_SECONDS,
		description: 'If the workflow dies before Record, the planned step may be taken up by a later run after this long',
		displayOptions: show('ticketToken', ops),
	},
];

const OUTPUT = { create: 0, delete: 1, skip: 2 } as const;

/** Outputs: Create (make and send a token; `tokenStep.token` set: send that one again), Delete (`tokenStep.token`), Unchanged. */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const outputs: INodeExecutionData[][] = [[], [], []];
	const inputs: Array<{ index: number; input: TicketTokenInput }> = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const param = (name: string) => this.getNodeParameter(name, i, '');
			inputs.push({ index: i, input: { event: param('event'), ticket: param('ticket'), orderCode: param('orderCode'), access: param('access'), needsAccount: param('needsAccount') } });
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this, error, i);
			outputs[OUTPUT.skip].push(errorItem(this, error, i));
		}
	}
	if (inputs.length === 0) return outputs;
	let steps;
	try {
		steps = await planTicketTokens(ledger, inputs.map((x) => x.input), { leaseSeconds: Number(this.getNodeParameter('leaseSeconds', 0, DEFAULT_LEASE_SECONDS)) });
	} catch (error) {
		const at = (error as { index?: number }).index;
		throw toNodeError(this, error, at === undefined ? undefined : inputs[at]?.index);
	}
	steps.forEach((step, n) => {
		const index = inputs[n].index;
		outputs[OUTPUT[step.action]].push({ json: { ...items[index].json, tokenStep: step as unknown as IDataObject }, pairedItem: { item: index } });
	});
	return outputs;
}
