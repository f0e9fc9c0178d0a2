import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { summarizeTicketRun, type Ledger, type TicketStep } from '../../../../lib/store';
import { show } from '../common';

const ops = ['summarize'];

export const description: INodeProperties[] = [
	{
		displayName: 'Plan Field',
		name: 'planField',
		type: 'string',
		default: 'plan',
		description: 'Field where Plan put the step; items without one (e.g. the event list) are not counted',
		displayOptions: show('ticket', ops),
	},
	{
		displayName: 'Record Field',
		name: 'recordField',
		type: 'string',
		default: 'dedupe',
		description: 'Field where Record put what it recorded',
		displayOptions: show('ticket', ops),
	},
];

/**
 * One item with the counts of a run (tickets, invited, already invited, withdrawn, kept, pending,
 * invalid, in progress, failed) and, for the organizers' room, the order codes of tickets with an
 * unusable Matrix ID or a failure. Always one item, also for an empty run.
 */
export async function execute(this: IExecuteFunctions, _ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const planField = String(this.getNodeParameter('planField', 0, 'plan') ?? '').trim() || 'plan';
	const recordField = String(this.getNodeParameter('recordField', 0, 'dedupe') ?? '').trim() || 'dedupe';
	const summary = summarizeTicketRun(
		items.map((item) => ({
			step: item.json[planField] as unknown as TicketStep | undefined,
			recorded: (item.json[recordField] as IDataObject | undefined)?.recorded,
			positionNumber: item.json.positionNumber,
		})),
	);
	return [[{ json: summary as unknown as IDataObject, pairedItem: items.map((_item, i) => ({ item: i })) }]];
}
