import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { recordTicketOutcomes, type Ledger, type TicketStep } from '../../../../lib/store';
import { resultFieldProperty, show, toNodeError } from '../common';

const ops = ['record'];

/**
 * Record reads everything from the items themselves (field names, not expressions): items arrive
 * on four inputs, and n8n evaluates expressions against the first input only.
 */
export const description: INodeProperties[] = [
	{
		displayName: 'Plan Field',
		name: 'planField',
		type: 'string',
		default: 'plan',
		description: 'Field where Plan put the step (its ledger key is read from there, nothing has to match)',
		displayOptions: show('ticket', ops),
	},
	{
		displayName: 'Matrix Result Field',
		name: 'matrixField',
		type: 'string',
		default: 'matrix',
		description: 'Field where Matrix Invite put its result; its status (invited, withdrawn, sent, …) is recorded',
		displayOptions: show('ticket', ops),
	},
	resultFieldProperty('ticket', ops),
];

/** Inputs of Record, in order: what came back from Invite, Withdraw and Report, and Unchanged. */
const INPUTS = 4;

function fieldName(context: IExecuteFunctions, name: string, fallback: string): string {
	return String(context.getNodeParameter(name, 0, fallback) ?? '').trim() || fallback;
}

/**
 * Settles every item's step; the items of all inputs leave on one output (input order, then item
 * order) with what was recorded. An item without a step fails the node (the plan field is named).
 */
export async function execute(this: IExecuteFunctions, ledger: Ledger): Promise<INodeExecutionData[][]> {
	const planField = fieldName(this, 'planField', 'plan');
	const matrixField = fieldName(this, 'matrixField', 'matrix');
	const resultField = fieldName(this, 'resultField', 'dedupe');
	const all: Array<{ item: INodeExecutionData; input: number; index: number }> = [];
	for (let input = 0; input < INPUTS; input++) {
		let items: INodeExecutionData[] = [];
		try {
			items = this.getInputData(input);
		} catch {
			// An input without a connection has no data.
		}
		items.forEach((item, index) => all.push({ item, input, index }));
	}
	const inputs = all.map(({ item }) => {
		const matrix = item.json[matrixField] as IDataObject | undefined;
		return { step: item.json[planField] as unknown as TicketStep, status: matrix && typeof matrix === 'object' ? matrix.status : undefined };
	});
	try {
		const results = await recordTicketOutcomes(ledger, inputs);
		return [
			all.map(({ item, input, index }, n) => ({
				json: { ...item.json, [resultField]: results[n] as unknown as IDataObject },
				pairedItem: { item: index, input },
			})),
		];
	} catch (error) {
		const at = (error as { index?: number }).index;
		throw toNodeError(this, error, at === undefined ? undefined : all[at]?.index);
	}
}
