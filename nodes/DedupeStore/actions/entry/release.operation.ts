import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { entryProperties, resultFieldProperty } from '../common';
import { settleItems } from './settle';

export const description: INodeProperties[] = [
	...entryProperties(['release']),
	resultFieldProperty('entry', ['release']),
];

/** Gives claimed entries back without recording anything: the next Claim wins them at once. */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return settleItems(
		this,
		ledger,
		items,
		() => 'release',
		(entries) => ledger.release(entries),
		() => ({ released: true }),
	);
}
