import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { entryProperties, resultFieldProperty, show } from '../common';
import { settleItems } from './settle';

export const description: INodeProperties[] = [
	...entryProperties(['fail']),
	{
		displayName: 'Reason Code',
		name: 'reason',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'M_FORBIDDEN',
		description: 'Short code (letters, digits, _ . : -), e.g. a Matrix errcode; never free text.',
		displayOptions: show('entry', ['fail']),
	},
	{
		displayName: 'Retry Later',
		name: 'retryable',
		type: 'boolean',
		default: false,
		description:
			'Whether a later Claim may pick the entry up again (e.g. the homeserver was unreachable)',
		displayOptions: show('entry', ['fail']),
	},
	resultFieldProperty('entry', ['fail']),
];

export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const parse = (group: string) => ({ retryable: group.startsWith('1'), reason: group.slice(2) });
	return settleItems(
		this,
		ledger,
		items,
		(i) =>
			`${this.getNodeParameter('retryable', i, false) ? '1' : '0'}:${String(this.getNodeParameter('reason', i, '') ?? '')}`,
		(entries, group) =>
			ledger.fail(entries, parse(group).reason, { retryable: parse(group).retryable }),
		(group) => ({
			recorded: 'failed',
			reason: parse(group).reason,
			retryable: parse(group).retryable,
		}),
	);
}
