import { createRoute, z } from '@hono/zod-openapi'
import {
  DeletedWebhookEndpoint,
  ListQuery,
  WEBHOOK_EVENT_TYPES,
  WebhookCreateParams,
  WebhookDeliveryList,
  WebhookDeliveryRetry,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookEndpointTestResult,
  WebhookEndpointWithSecret,
  WebhookEventTypeList,
  WebhookRotateSecretParams,
  WebhookSigningSecret,
  WebhookTestParams,
  WebhookUpdateParams,
} from '@threadwork/domain'
import { CALLBACK_OWNER, type Stores } from '@threadwork/storage'
import { type WebhookPolicy, assertWebhookTarget, defaultWebhookPolicy } from '../webhook-policy.js'
import { jsonRequest, jsonResponse, resourceApp } from './openapi.js'

const EndpointParams = z.object({ webhook_endpoint_id: z.string() })
const DeliveryParams = EndpointParams.extend({ delivery_id: z.string() })
const CallbackDeliveryParams = z.object({ delivery_id: z.string() })

/**
 * Webhook endpoints as openai-node 7.x `client.webhooks.*` calls them, plus Threadwork's delivery
 * log, manual redelivery, and the project signing secret for turn `callback_url`s
 * (services/webhooks/README.md describes delivery).
 */
export const webhookEndpointRoutes = (stores: Stores, policy: WebhookPolicy = defaultWebhookPolicy()) => {
  const endpoints = stores.webhookEndpoints
  return resourceApp()
    .openapi(
      createRoute({
        method: 'post',
        path: '/webhook_endpoints',
        operationId: 'createWebhookEndpoint',
        request: jsonRequest(WebhookCreateParams),
        responses: jsonResponse(WebhookEndpointWithSecret, 'The endpoint, with its signing secret (shown only here and on rotation).'),
      }),
      async (c) => {
        const params = c.req.valid('json')
        await assertWebhookTarget(policy, params.url, 'url')
        return c.json(await endpoints.create(c.get('project'), params, policy.maxEndpointsPerProject), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/webhook_endpoints',
        operationId: 'listWebhookEndpoints',
        request: { query: ListQuery },
        responses: jsonResponse(WebhookEndpointList, 'A page of endpoints, newest first.'),
      }),
      async (c) => c.json(await endpoints.list(c.get('project'), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/webhook_endpoints/{webhook_endpoint_id}',
        operationId: 'getWebhookEndpoint',
        request: { params: EndpointParams },
        responses: jsonResponse(WebhookEndpoint, 'The endpoint.'),
      }),
      async (c) => c.json(await endpoints.get(c.get('project'), c.req.valid('param').webhook_endpoint_id), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/webhook_endpoints/{webhook_endpoint_id}',
        operationId: 'updateWebhookEndpoint',
        request: { params: EndpointParams, ...jsonRequest(WebhookUpdateParams, false) },
        responses: jsonResponse(WebhookEndpoint, 'The updated endpoint.'),
      }),
      async (c) => {
        const params = c.req.valid('json')
        if (params.url !== undefined) await assertWebhookTarget(policy, params.url, 'url')
        return c.json(await endpoints.update(c.get('project'), c.req.valid('param').webhook_endpoint_id, params), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/webhook_endpoints/{webhook_endpoint_id}',
        operationId: 'deleteWebhookEndpoint',
        request: { params: EndpointParams },
        responses: jsonResponse(DeletedWebhookEndpoint, 'Deletion status.'),
      }),
      async (c) => c.json(await endpoints.delete(c.get('project'), c.req.valid('param').webhook_endpoint_id), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/webhook_endpoints/{webhook_endpoint_id}/rotate_secret',
        operationId: 'rotateWebhookEndpointSecret',
        request: { params: EndpointParams, ...jsonRequest(WebhookRotateSecretParams, false) },
        responses: jsonResponse(WebhookEndpointWithSecret, 'The endpoint with its new signing secret.'),
      }),
      async (c) => c.json(await endpoints.rotateSecret(c.get('project'), c.req.valid('param').webhook_endpoint_id, c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/webhook_endpoints/{webhook_endpoint_id}/test',
        operationId: 'testWebhookEndpoint',
        request: { params: EndpointParams, ...jsonRequest(WebhookTestParams) },
        responses: jsonResponse(WebhookEndpointTestResult, 'The sample event, queued; its attempt (with the receiver\'s status) appears in the delivery log.'),
      }),
      async (c) => c.json(await endpoints.test(c.get('project'), c.req.valid('param').webhook_endpoint_id, c.req.valid('json').event_type), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/webhook_endpoints/{webhook_endpoint_id}/deliveries',
        operationId: 'listWebhookDeliveries',
        description: 'Threadwork: delivery attempts to this endpoint, newest first (the last 1,000; up to 63 more between trims).',
        request: { params: EndpointParams, query: ListQuery },
        responses: jsonResponse(WebhookDeliveryList, 'A page of delivery attempts.'),
      }),
      async (c) => c.json(await endpoints.deliveries.list(c.get('project'), c.req.valid('param').webhook_endpoint_id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/webhook_endpoints/{webhook_endpoint_id}/deliveries/{delivery_id}/retry',
        operationId: 'retryWebhookDelivery',
        description: "Threadwork: sends the attempt's event to the endpoint again (same body and webhook-id), with the normal retry schedule.",
        request: { params: DeliveryParams },
        responses: jsonResponse(WebhookDeliveryRetry, 'The redelivery was scheduled.'),
      }),
      async (c) => {
        const { webhook_endpoint_id, delivery_id } = c.req.valid('param')
        return c.json(await endpoints.redeliver(c.get('project'), webhook_endpoint_id, delivery_id), 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/webhook_event_types',
        operationId: 'listWebhookEventTypes',
        responses: jsonResponse(WebhookEventTypeList, 'The event types Threadwork emits.'),
      }),
      (c) => c.json({ object: 'list' as const, data: [...WEBHOOK_EVENT_TYPES] }, 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/webhook_signing_secret',
        operationId: 'getWebhookSigningSecret',
        description: "Threadwork: the project's secret that signs deliveries to turn callback_urls (created on first use). The secret itself is in the answer that created it and in rotations only; otherwise its hint.",
        responses: jsonResponse(WebhookSigningSecret, 'The signing secret.'),
      }),
      async (c) => c.json(await endpoints.signingSecret.get(c.get('project')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/webhook_signing_secret/rotate',
        operationId: 'rotateWebhookSigningSecret',
        request: jsonRequest(WebhookRotateSecretParams, false),
        responses: jsonResponse(WebhookSigningSecret, 'The new signing secret.'),
      }),
      async (c) => c.json(await endpoints.signingSecret.rotate(c.get('project'), c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/webhook_callback_deliveries',
        operationId: 'listWebhookCallbackDeliveries',
        description: 'Threadwork: delivery attempts to turn callback_urls, newest first (the last 1,000; up to 63 more between trims).',
        request: { query: ListQuery },
        responses: jsonResponse(WebhookDeliveryList, 'A page of delivery attempts.'),
      }),
      async (c) => c.json(await endpoints.deliveries.list(c.get('project'), CALLBACK_OWNER, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/webhook_callback_deliveries/{delivery_id}/retry',
        operationId: 'retryWebhookCallbackDelivery',
        request: { params: CallbackDeliveryParams },
        responses: jsonResponse(WebhookDeliveryRetry, 'The redelivery was scheduled.'),
      }),
      async (c) => c.json(await endpoints.redeliver(c.get('project'), CALLBACK_OWNER, c.req.valid('param').delivery_id), 200),
    )
}
