import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { PersonInput } from '../../../../lib/store';
import { show } from '../common';

export function personProperties(operation: string): INodeProperties[] {
	return [
		{
			displayName: 'Matrix ID',
			name: 'personMatrixId',
			type: 'string',
			default: '',
			placeholder: '@alex:example.org',
			description: 'Find entries recorded for this Matrix ID (any spelling MXID Validate accepts)',
			displayOptions: show('entry', [operation]),
		},
		{
			displayName: 'Order Code',
			name: 'personOrderCode',
			type: 'string',
			default: '',
			placeholder: 'ABC12',
			description: 'Find entries recorded for this pretix order code',
			displayOptions: show('entry', [operation]),
		},
	];
}

export function readPerson(context: IExecuteFunctions, itemIndex: number): PersonInput {
	return {
		matrixId: context.getNodeParameter('personMatrixId', itemIndex, ''),
		orderCode: context.getNodeParameter('personOrderCode', itemIndex, ''),
	};
}
