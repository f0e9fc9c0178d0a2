import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import * as attendee from './actions/attendee';
import { authenticationProperty } from './actions/common';
import * as event from './actions/event';
import * as oauthToken from './actions/oauthToken';
import * as order from './actions/order';
import * as organizer from './actions/organizer';
import { router } from './actions/router';
import { searchEvents, searchOrganizers } from './methods/listSearch';

export class PretixOrders implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Pretix Orders',
		name: 'pretixOrders',
		icon: { light: 'file:pretixOrders.svg', dark: 'file:pretixOrders.dark.svg' },
		group: ['transform'],
		version: 1,
		// The operation's action, as n8n's panel names it (test/unit/subtitles.test.ts keeps it in step).
		subtitle:
			'={{ {"organizer/getMany":"Get many organizers","event/get":"Get an event","event/getMany":"Get many events","attendee/getMany":"Get many attendees","order/get":"Get an order","oauthToken/revoke":"Revoke the pretix access"}[($parameter["resource"] || "") + "/" + $parameter["operation"]] || $parameter["operation"] }}',
		description: 'Read pretix events and the attendees of their orders, one item per ticket holder',
		defaults: {
			name: 'Pretix Orders',
		},
		usableAsTool: true,
		// The lint rule predates NodeConnectionTypes (whose Main is 'main').
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'pretixOAuth2Api',
				required: true,
				displayOptions: { show: { authentication: ['pretixOAuth2Api'] } },
			},
			{
				name: 'pretixApi',
				required: true,
				displayOptions: { show: { authentication: ['pretixApi'] } },
			},
		],
		properties: [
			authenticationProperty,
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Attendee',
						value: 'attendee',
					},
					{
						name: 'Event',
						value: 'event',
					},
					{
						name: 'OAuth Token',
						value: 'oauthToken',
					},
					{
						name: 'Order',
						value: 'order',
					},
					{
						name: 'Organizer',
						value: 'organizer',
					},
				],
				default: 'attendee',
			},
			...attendee.description,
			...event.description,
			...oauthToken.description,
			...order.description,
			...organizer.description,
		],
	};

	methods = {
		listSearch: { searchOrganizers, searchEvents },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
