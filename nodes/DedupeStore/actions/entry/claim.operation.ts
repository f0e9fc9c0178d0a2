import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { DEFAULT_LEASE_SECONDS, type Ledger } from '../../../../lib/store';
import {
	entryProperties,
	errorItem,
	readEntries,
	resultField,
	resultFieldProperty,
	show,
	toNodeError,
	withResult,
} from '../common';

export const description: INodeProperties[] = [
	...entryProperties(['claim']),
	{
		displayName: 'Lease (Seconds)',
		name: 'leaseSeconds',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: DEFAULT_LEASE_SECONDS,
		description:
			'If the workflow dies before Complete, the claim expires after this long and a later run picks the entry up again',
		displayOptions: show('entry', ['claim']),
	},
	resultFieldProperty('entry', ['claim']),
];

/**
 * Claims every item's entry in one atomic batch. Output 1 (New): this run won the entry and must
 * process it, then Complete, Fail or Release it. Output 2 (Seen): already done, or held by another
 * run; items whose input was invalid also go here (with "Continue On Fail"), never to New.
 */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const { valid, failed } = readEntries(this, ledger, items);
	const newItems: INodeExecutionData[] = [];
	const seenItems: INodeExecutionData[] = [...failed];
	if (valid.length === 0) return [newItems, seenItems];
	const leaseSeconds = Number(this.getNodeParameter('leaseSeconds', 0, DEFAULT_LEASE_SECONDS));
	try {
		const results = await ledger.claim(
			valid.map((v) => v.entry),
			{ leaseSeconds },
		);
		results.forEach((result, n) => {
			const index = valid[n].index;
			const item = withResult(items[index], resultField(this, index), result, index);
			(result.claimed ? newItems : seenItems).push(item);
		});
	} catch (error) {
		if (!this.continueOnFail()) throw toNodeError(this, error);
		for (const { index } of valid) seenItems.push(errorItem(this, error, index));
	}
	return [newItems, seenItems];
}
