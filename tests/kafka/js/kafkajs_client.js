#!/usr/bin/env node
// kafkajs against tesserad's Kafka listener, for tests/kafka/test_kafkajs.py.
//
//   node kafkajs_client.js COMMAND 'JSON-CONFIG'
//
// Every command prints ONE JSON line on stdout (its summary, which the test
// asserts on) and logs to stderr. Common config: brokers (["host:port"]),
// deadlineMs (the script exits 3 past it, whatever it is waiting for),
// logLevel ("error", "warn", "info", "debug"), sasl ({username, password}:
// SASL PLAIN) when given.
//
// Commands:
//   produce    {topic, partitions, count, compression}: creates the topic
//              with the admin client (createTopics), sends `count` keyed,
//              headed messages (see message(i)) and reports the topic's
//              partition count and offsets.
//   consume    {topic, groupId, expected}: one group member reading from the
//              beginning until `expected` messages (plus a grace period for
//              extras); reports count, checksum, partitions seen and the
//              group's committed offsets.
//   rebalance  {topic, partitions, groupId, first, second}: creates the
//              topic and sends `first` messages; member A consumes them all,
//              then member B joins and the group rebalances; `second`
//              messages (round-robin over the partitions) follow. Reports
//              assignments and what each member consumed.

'use strict'

const crypto = require('crypto')
const { Kafka, logLevel, Partitioners, CompressionTypes } = require('kafkajs')

const [, , command, rawConfig] = process.argv
const config = JSON.parse(rawConfig || '{}')
const started = Date.now()

function log(...args) {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(3)}s] ${args.join(' ')}\n`)
}

const deadline = setTimeout(() => {
  log(`DEADLINE: ${command} still running after ${config.deadlineMs} ms`)
  process.exit(3)
}, config.deadlineMs || 60000)
deadline.unref()

const LEVELS = { error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG }

const kafka = new Kafka({
  clientId: `tessera-kafkajs-${command}`,
  brokers: config.brokers,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { initialRetryTime: 100, retries: 8 },
  ...(config.sasl ? { sasl: { mechanism: 'plain', ...config.sasl } } : {}),
  logLevel: LEVELS[config.logLevel || 'warn'],
  logCreator: () => ({ namespace, level, label, log: entry }) => {
    const { message, ...extra } = entry
    process.stderr.write(`[kafkajs ${label} ${namespace}] ${message} ${JSON.stringify(extra)}\n`)
  },
})

// Message i of a run: the test recomputes the checksum from the same rule.
function message(prefix, i) {
  return {
    key: `${prefix}key-${i}`,
    value: `${prefix}value-${i}-${'x'.repeat(i % 50)}`,
    headers: { idx: String(i), src: 'kafkajs' },
  }
}

// One line per message, independent of partitioning; the checksum is the
// SHA-256 of the sorted lines joined with "\n".
function line(m) {
  const h = m.headers || {}
  const str = v => (v === undefined || v === null ? '<null>' : v.toString())
  return [str(m.key), str(m.value), str(h.idx), str(h.src)].join('\t')
}

function checksum(lines) {
  return crypto.createHash('sha256').update([...lines].sort().join('\n')).digest('hex')
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function waitFor(what, pred, timeoutMs = 20000, intervalMs = 50) {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (await pred()) return
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

// skipCreate (config): the topic exists already (debugging a broker without
// CreateTopics); only its metadata is read.
async function createTopic(admin, topic, partitions) {
  const created = config.skipCreate ? null : await admin.createTopics({
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    waitForLeaders: true,
    timeout: 15000,
  })
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
  return { created, partitions: topics[0].partitions.length }
}

async function topicOffsets(admin, topic) {
  const out = {}
  for (const o of await admin.fetchTopicOffsets(topic)) {
    out[o.partition] = { low: Number(o.low), high: Number(o.high) }
  }
  return out
}

async function committedOffsets(admin, groupId, topic) {
  const out = {}
  for (const t of await admin.fetchOffsets({ groupId, topics: [topic] })) {
    for (const p of t.partitions) out[p.partition] = Number(p.offset)
  }
  return out
}

async function send(producer, topic, messages, compression) {
  const acks = []
  for (let i = 0; i < messages.length; i += 100) {
    const meta = await producer.send({
      topic,
      messages: messages.slice(i, i + 100),
      acks: -1,
      compression: compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    })
    for (const m of meta) {
      if (m.errorCode !== 0) throw new Error(`produce error ${JSON.stringify(m)}`)
      acks.push({ partition: m.partition, baseOffset: Number(m.baseOffset) })
    }
  }
  return acks
}

function newProducer() {
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
}

// A group member recording what it consumes and each assignment it gets.
function member(name, groupId, topic, sink) {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10000,
    rebalanceTimeout: 20000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
  })
  const m = { name, consumer, joins: [], records: [], crashed: null }
  consumer.on(consumer.events.GROUP_JOIN, e => {
    const partitions = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b)
    m.joins.push({ at: Date.now() - started, isLeader: e.payload.isLeader, partitions })
    log(`${name} joined ${groupId}: partitions ${JSON.stringify(partitions)} leader=${e.payload.isLeader}`)
  })
  consumer.on(consumer.events.CRASH, e => {
    m.crashed = String(e.payload.error && e.payload.error.stack || e.payload.error)
    log(`${name} CRASHED: ${m.crashed}`)
  })
  m.start = async () => {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message: msg }) => {
        const headers = {}
        for (const [k, v] of Object.entries(msg.headers || {})) headers[k] = v
        const rec = { member: name, partition, offset: Number(msg.offset), line: line({ key: msg.key, value: msg.value, headers }) }
        m.records.push(rec)
        sink.push(rec)
      },
    })
  }
  m.assigned = () => (m.joins.length ? m.joins[m.joins.length - 1].partitions : [])
  return m
}

function summarize(records) {
  const partitions = {}
  for (const r of records) {
    const p = (partitions[r.partition] = partitions[r.partition] || { count: 0, offsets: [] })
    p.count += 1
    p.offsets.push(r.offset)
  }
  for (const p of Object.values(partitions)) {
    p.offsets.sort((a, b) => a - b)
    p.first = p.offsets[0]
    p.last = p.offsets[p.offsets.length - 1]
    p.dense = p.offsets.every((o, i) => o === p.first + i)
    delete p.offsets
  }
  const unique = new Set(records.map(r => `${r.partition}:${r.offset}`)).size
  return {
    count: records.length,
    unique,
    checksum: checksum(records.map(r => r.line)),
    partitionsSeen: Object.keys(partitions).map(Number).sort((a, b) => a - b),
    partitions,
  }
}

const commands = {
  async produce() {
    const admin = kafka.admin()
    const producer = newProducer()
    await admin.connect()
    try {
      const made = await createTopic(admin, config.topic, config.partitions)
      await producer.connect()
      const messages = Array.from({ length: config.count }, (_, i) => message('', i))
      const acks = await send(producer, config.topic, messages, config.compression)
      return { ...made, sent: messages.length, acks, offsets: await topicOffsets(admin, config.topic) }
    } finally {
      await producer.disconnect()
      await admin.disconnect()
    }
  },

  async consume() {
    const admin = kafka.admin()
    await admin.connect()
    const records = []
    const m = member('A', config.groupId, config.topic, records)
    try {
      await m.start()
      await waitFor(`${config.expected} messages`, () => records.length >= config.expected || m.crashed, 30000)
      await sleep(500) // extras (duplicates) would show up here
      if (m.crashed) throw new Error(`consumer crashed: ${m.crashed}`)
      const summary = summarize(records)
      await m.consumer.disconnect() // commits what it consumed, leaves the group
      return {
        ...summary,
        joins: m.joins,
        offsets: await topicOffsets(admin, config.topic),
        committed: await committedOffsets(admin, config.groupId, config.topic),
      }
    } finally {
      await m.consumer.disconnect()
      await admin.disconnect()
    }
  },

  async rebalance() {
    const { topic, groupId } = config
    const admin = kafka.admin()
    const producer = newProducer()
    const records = []
    const a = member('A', groupId, topic, records)
    const b = member('B', groupId, topic, records)
    const all = Array.from({ length: config.partitions }, (_, i) => i)
    await admin.connect()
    try {
      const made = await createTopic(admin, topic, config.partitions)
      await producer.connect()
      await send(producer, topic, Array.from({ length: config.first }, (_, i) => message('', i)))
      const offsetsFirst = await topicOffsets(admin, topic)

      // Member A alone: owns every partition and consumes everything.
      await a.start()
      await waitFor('A to consume the first messages', () => records.length >= config.first || a.crashed, 30000)
      // ... and has committed it all (kafkajs commits after each batch).
      await waitFor('the group to commit the first messages', async () => {
        const c = await committedOffsets(admin, groupId, topic)
        return all.every(p => c[p] === offsetsFirst[p].high)
      }, 15000, 200)
      const firstPhase = { ...summarize(records), assignedA: a.assigned() }
      const joinsBefore = a.joins.length

      // Member B joins: A must give up partitions.
      await b.start()
      await waitFor('the group to rebalance over A and B', () => {
        if (a.crashed || b.crashed) return true
        const pa = a.assigned()
        const pb = b.assigned()
        return a.joins.length > joinsBefore && pa.length > 0 && pb.length > 0 &&
          pa.length + pb.length === all.length && new Set([...pa, ...pb]).size === all.length
      }, 30000)
      if (a.crashed || b.crashed) throw new Error(`member crashed: ${a.crashed || b.crashed}`)
      const assignments = { A: a.assigned(), B: b.assigned() }

      // Messages sent now go to whoever owns their partition.
      const second = Array.from({ length: config.second }, (_, i) => ({ ...message('late-', i), partition: i % all.length }))
      await send(producer, topic, second)
      const expected = config.first + config.second
      await waitFor(`${expected} messages in all`, () => records.length >= expected || a.crashed || b.crashed, 30000)
      await sleep(1000) // extras (duplicates) would show up here
      if (a.crashed || b.crashed) throw new Error(`member crashed: ${a.crashed || b.crashed}`)
      const late = records.slice(config.first)
      const byMember = name => summarize(late.filter(r => r.member === name))
      return {
        ...made,
        firstPhase,
        assignments,
        joins: { A: a.joins, B: b.joins },
        secondPhase: { A: byMember('A'), B: byMember('B') },
        total: summarize(records),
        offsets: await topicOffsets(admin, topic),
      }
    } finally {
      await Promise.all([a.consumer.disconnect(), b.consumer.disconnect()])
      await producer.disconnect()
      await admin.disconnect()
    }
  },
}

async function main() {
  if (!commands[command]) throw new Error(`unknown command ${JSON.stringify(command)}`)
  const summary = await commands[command]()
  process.stdout.write(JSON.stringify(summary) + '\n')
}

main().then(
  () => process.exit(0),
  err => {
    log(`FAILED: ${err && err.stack ? err.stack : err}`)
    process.exit(1)
  },
)
