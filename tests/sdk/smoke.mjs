// The main calls of every service through the AWS SDK for JavaScript v3, against the daemon at
// EVENTMESH_URL. Prints one JSON object of what each step saw; the Python test asserts on it.
import { SQSClient, CreateQueueCommand, SendMessageCommand, ReceiveMessageCommand, DeleteMessageCommand,
  GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { SNSClient, CreateTopicCommand, SubscribeCommand, PublishCommand, ListSubscriptionsByTopicCommand }
  from "@aws-sdk/client-sns";
import { KinesisClient, CreateStreamCommand, PutRecordCommand, DescribeStreamCommand, GetShardIteratorCommand,
  GetRecordsCommand, TagResourceCommand, ListTagsForResourceCommand } from "@aws-sdk/client-kinesis";
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { LambdaClient, CreateFunctionCommand, InvokeCommand, GetFunctionCommand, PublishLayerVersionCommand,
  InvokeWithResponseStreamCommand, CreateFunctionUrlConfigCommand } from "@aws-sdk/client-lambda";

const config = { endpoint: process.env.EVENTMESH_URL, region: "us-east-1",
  credentials: { accessKeyId: "x", secretAccessKey: "x" } };
const out = {};
const sqs = new SQSClient(config), sns = new SNSClient(config), kinesis = new KinesisClient(config);
const events = new EventBridgeClient(config), lambda = new LambdaClient(config);

const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "js-orders" }));
const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] })))
  .Attributes.QueueArn;
const sent = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "from js",
  MessageAttributes: { k: { DataType: "String", StringValue: "v" } } }));
const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ["All"] }));
await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: got.Messages[0].ReceiptHandle }));
out.sqs = { queueArn, sentId: sent.MessageId, md5: sent.MD5OfMessageBody, body: got.Messages[0].Body,
  attribute: got.Messages[0].MessageAttributes.k.StringValue };

const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: "js-topic" }));
await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: queueArn,
  Attributes: { RawMessageDelivery: "true" } }));
const published = await sns.send(new PublishCommand({ TopicArn, Message: "fanned out" }));
const subs = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
const fanned = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
out.sns = { topicArn: TopicArn, messageId: published.MessageId, subscriptions: subs.Subscriptions.length,
  delivered: fanned.Messages?.[0]?.Body };

await events.send(new PutRuleCommand({ Name: "js-rule", EventPattern: JSON.stringify({ source: ["js.app"] }) }));
await events.send(new PutTargetsCommand({ Rule: "js-rule", Targets: [{ Id: "q", Arn: queueArn }] }));
const put = await events.send(new PutEventsCommand({ Entries: [{ Source: "js.app", DetailType: "T",
  Detail: JSON.stringify({ n: 1 }) }] }));
const routed = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
out.events = { failed: put.FailedEntryCount, source: JSON.parse(routed.Messages?.[0]?.Body ?? "{}").source };

try {
  await kinesis.send(new CreateStreamCommand({ StreamName: "js-stream", ShardCount: 1 }));
  const record = await kinesis.send(new PutRecordCommand({ StreamName: "js-stream", PartitionKey: "k",
    Data: new TextEncoder().encode("kinesis from js") }));
  const shard = (await kinesis.send(new DescribeStreamCommand({ StreamName: "js-stream" })))
    .StreamDescription.Shards[0].ShardId;
  const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: "js-stream",
    ShardId: shard, ShardIteratorType: "TRIM_HORIZON" }));
  const records = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
  const StreamARN = (await kinesis.send(new DescribeStreamCommand({ StreamName: "js-stream" })))
    .StreamDescription.StreamARN;
  await kinesis.send(new TagResourceCommand({ ResourceARN: StreamARN, Tags: { team: "js" } }));
  const tags = await kinesis.send(new ListTagsForResourceCommand({ ResourceARN: StreamARN }));
  out.kinesis = { shardId: record.ShardId, data: new TextDecoder().decode(records.Records[0].Data),
    tags: tags.Tags };
} catch (error) {
  out.kinesis = { error: `${error.name}: ${error.message}` };
}

const zip = Buffer.from(process.env.EVENTMESH_ZIP, "base64");
const layer = await lambda.send(new PublishLayerVersionCommand({ LayerName: "js-layer",
  Content: { ZipFile: Buffer.from(process.env.EVENTMESH_LAYER_ZIP, "base64") } }));
await lambda.send(new CreateFunctionCommand({ FunctionName: "js-fn", Runtime: "python3.12",
  Role: "arn:aws:iam::000000000000:role/r", Handler: "app.handler", Code: { ZipFile: zip },
  Layers: [layer.LayerVersionArn] }));
const invoked = await lambda.send(new InvokeCommand({ FunctionName: "js-fn",
  Payload: new TextEncoder().encode(JSON.stringify({ n: 41 })) }));
const fn = await lambda.send(new GetFunctionCommand({ FunctionName: "js-fn" }));
const streamed = await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: "js-fn",
  Payload: new TextEncoder().encode(JSON.stringify({ n: 1 })) }));
const chunks = [];
for await (const event of streamed.EventStream) {
  if (event.PayloadChunk) chunks.push(new TextDecoder().decode(event.PayloadChunk.Payload));
}
const url = await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: "js-fn", AuthType: "NONE" }));
const fetched = await fetch(`${url.FunctionUrl}from-node?x=1`);   // Node's own HTTP client at the URL
out.lambda = { status: invoked.StatusCode, payload: new TextDecoder().decode(invoked.Payload),
  runtime: fn.Configuration.Runtime, layers: fn.Configuration.Layers.length, streamed: chunks.join(""),
  url: url.FunctionUrl, fetched: { status: fetched.status, body: await fetched.text() } };

console.log(JSON.stringify(out));
