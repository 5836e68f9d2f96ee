export { TEST_REDIS_URL, uniquePrefix, deleteKeysWithPrefix, createRedisFixture } from './redis-fixture.js'
export type { RedisFixture } from './redis-fixture.js'
export { startFakeUpstream } from './fake-upstream.js'
export { FAKE_EMBEDDING_DIMENSIONS, type FakeEmbeddingsMode, embeddingsResponse, fakeEmbedding } from './fake-embeddings.js'
export type { EmbeddingErrorReply, RecordedEmbeddingRequest } from './fake-embeddings.js'
export { defaultReply, echoText, lastUserText } from './fake-upstream-plan.js'
export { fileSearchCall, pythonCall, sourceMarkersIn, toolRoundOf, toolScript } from './fake-upstream-tools.js'
export type { ToolRound, ToolScriptStep } from './fake-upstream-tools.js'
export type {
  FakeToolCall,
  FakeUpstream,
  FakeUpstreamOptions,
  FakeUsage,
  CutReply,
  ErrorReply,
  HangReply,
  Overlap,
  QuirkyToolCallsReply,
  RecordedRequest,
  Reply,
  ReplyHandler,
  RequestOutcome,
  ResetReply,
  TextReply,
  ToolCallsReply,
} from './fake-upstream-types.js'
export { DEFAULT_TEST_API_KEY, startApiServer } from './api-server.js'
export type { ApiServer, ApiServerOptions, ModelsCatalog } from './api-server.js'
export { startServiceProcess } from './service-process.js'
export type { ServiceName, ServiceProcess } from './service-process.js'
export { freePort, startRedisCluster, startRedisServer, waitForRedis } from './redis-server.js'
export type { RedisCluster, RedisServer, RedisServerOptions } from './redis-server.js'
export { runTurnLoad, verifyTurnLoad } from './turn-load.js'
export type { LoadTurn, TurnLoadOptions, TurnLoadResult } from './turn-load.js'
