export { newId, newFileId, nowSeconds, FILE_ID_PATTERN, isObjectId } from './ids.js'
export type { IdPrefix } from './ids.js'
export { ApiError } from './errors.js'
export type { ApiErrorStatus, ErrorBody } from './errors.js'
export { ErrorResponse } from './resources/error.js'
export { Metadata, ListQuery, UnixSeconds, listOf, deletedOf, describeJsonType } from './shared.js'
export type { ListPage } from './shared.js'
export {
  AssistantTool,
  FunctionTool,
  FunctionObject,
  ToolResources,
  ToolResourcesCreate,
  withToolResourceDefaults,
  toolResourcesForTools,
  threadToolResourcesForRun,
  VectorStoreHelper,
  MAX_FILES_PER_VECTOR_STORE,
  FILE_SEARCH_DEFAULT_RANKER,
  ResponseFormat,
  ToolChoice,
  ReasoningEffort,
  checkToolChoice,
} from './resources/tools.js'
export { Assistant, AssistantCreateParams, AssistantUpdateParams, AssistantDeleted, AssistantList } from './resources/assistant.js'
export { Thread, ThreadCreateParams, ThreadUpdateParams, ThreadDeleted } from './resources/thread.js'
export {
  Message,
  MessageContent,
  MessageCreateParams,
  MessageUpdateParams,
  MessageDeleted,
  MessageList,
  MessageStatus,
  Attachment,
  toMessageContent,
  newMessage,
} from './resources/message.js'
export {
  Run,
  RunStatus,
  RunCreateParams,
  ThreadCreateAndRunParams,
  RunUpdateParams,
  RunSubmitToolOutputsParams,
  RunList,
  RunUsage,
  RunLastError,
  RequiredActionToolCall,
  TruncationStrategy,
  ACTIVE_RUN_STATUSES,
  TERMINAL_RUN_STATUSES,
  isTerminalRunStatus,
} from './resources/run.js'
export {
  RunStep,
  RunStepList,
  RunStepStatus,
  StepDetails,
  FunctionToolCall,
  CodeInterpreterToolCall,
  CodeInterpreterOutput,
  FileSearchToolCall,
  FileSearchResult,
  ToolCall,
  IncludeQuery,
  FILE_SEARCH_CONTENT_INCLUDE,
  includesFileSearchContent,
  stepForInclude,
} from './resources/run-step.js'
export { Model, ModelList } from './resources/model.js'
export { runTransitions, canTransition, allowedFrom } from './run-transitions.js'
export {
  WEBHOOK_EVENT_TYPES,
  SECRET_GRACE_SECONDS,
  WebhookEventType,
  WebhookEndpoint,
  WebhookEndpointStatus,
  WebhookEndpointWithSecret,
  WebhookCreateParams,
  WebhookUpdateParams,
  WebhookRotateSecretParams,
  WebhookTestParams,
  WebhookEndpointTestResult,
  DeletedWebhookEndpoint,
  WebhookEndpointList,
  WebhookEventTypeList,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookDeliveryRetry,
  WebhookDeliveryTrigger,
  WebhookSigningSecret,
  WebhookUrl,
  generateSigningSecret,
  secretHint,
  webhookUrlProblem,
} from './resources/webhook-endpoint.js'
export { RUN_ASSISTANT_FIELDS, newRun } from './run-factory.js'
export type { RunSettings } from './run-factory.js'
export { Turn, newTurn, TurnStatus, TurnCreateParams, ThreadTurnCreateParams, TurnRunSettings, TurnList, TERMINAL_TURN_STATUSES } from './resources/turn.js'
export {
  FileObject,
  FilePurpose,
  FileUploadPurpose,
  FileExpiresAfter,
  FileCreateParams,
  FileDeleted,
  FileList,
  FileListQuery,
  Upload,
  UploadStatus,
  UploadCreateParams,
  UploadCompleteParams,
  UploadPart,
} from './resources/file.js'
export { unsupportedFileReason, contentTypeOf, extensionOf } from './file-types.js'
export {
  AUTO_CHUNK_TOKENS,
  AUTO_CHUNK_OVERLAP,
  ChunkingStrategy,
  ChunkingStrategyParam,
  StaticChunkingStrategy,
  resolveChunkingStrategy,
} from './resources/chunking.js'
export { VectorStoreFileAttributes } from './resources/vector-store-attributes.js'
export {
  FileCounts,
  VectorStore,
  VectorStoreCreateParams,
  VectorStoreDeleted,
  VectorStoreExpiresAfter,
  VectorStoreList,
  VectorStoreListQuery,
  VectorStoreStatus,
  VectorStoreUpdateParams,
} from './resources/vector-store.js'
export {
  MAX_BATCH_FILES,
  VectorStoreFile,
  VectorStoreFileBatch,
  VectorStoreFileBatchCreateParams,
  VectorStoreFileBatchStatus,
  VectorStoreFileContent,
  VectorStoreFileCreateParams,
  VectorStoreFileDeleted,
  VectorStoreFileLastError,
  VectorStoreFileList,
  VectorStoreFileListQuery,
  VectorStoreFileStatus,
  VectorStoreFileUpdateParams,
} from './resources/vector-store-file.js'
export {
  AttributeFilterSchema,
  ComparisonFilter,
  CompoundFilter,
  MAX_FILTER_DEPTH,
  SearchRankingOptions,
  VectorStoreSearchParams,
  VectorStoreSearchResult,
  VectorStoreSearchResultsPage,
} from './resources/vector-store-search.js'
export type { AttributeFilter } from './resources/vector-store-search.js'
