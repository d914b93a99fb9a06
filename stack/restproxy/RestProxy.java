/*
 * A minimal Kafka REST proxy for the local stack: the produce subset of the Confluent REST
 * Proxy v2 API, with the answer shapes of the Strimzi Kafka Bridge.
 *
 * It stands in for the Strimzi bridge, which is not published on Maven Central. It runs as a
 * single-file Java program (java RestProxy.java config.properties) on Kafka's own jars
 * (kafka-clients, Jackson), so it needs no build step.
 *
 *   GET  /healthy, /ready     204 when the process (ready: and Kafka) answers
 *   GET  /topics              200 ["topic", ...]
 *   POST /topics/{topic}      Content-Type exactly application/vnd.kafka.json.v2+json,
 *                             body {"records": [{"key": ..., "value": ..., "partition": n?}]}
 *                             200 {"offsets": [{"partition": p, "offset": o}
 *                                              | {"error_code": c, "message": m}]}
 *   errors                    {"error_code": <HTTP status>, "message": ...}: 404 unknown path,
 *                             405 method, 413 body too large, 415 content type, 422 bad body
 */

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class RestProxy {
  static final String JSON_V2 = "application/vnd.kafka.json.v2+json";
  static final ObjectMapper MAPPER = new ObjectMapper();

  private final KafkaProducer<byte[], byte[]> producer;
  private final Admin admin;
  private final long maxBodyBytes;

  RestProxy(Properties config) {
    Properties producerConfig = new Properties();
    for (String name : config.stringPropertyNames()) {
      if (name.startsWith("kafka.producer.")) {
        producerConfig.put(name.substring("kafka.producer.".length()), config.getProperty(name));
      }
    }
    String bootstrap = config.getProperty("kafka.bootstrap.servers");
    producerConfig.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    producerConfig.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    producerConfig.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    producer = new KafkaProducer<>(producerConfig);
    Properties adminConfig = new Properties();
    adminConfig.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    adminConfig.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
    adminConfig.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
    admin = Admin.create(adminConfig);
    maxBodyBytes = Long.parseLong(config.getProperty("http.max.body.bytes", "10485760"));
  }

  public static void main(String[] args) throws IOException {
    // Without TCP_NODELAY each answer on a kept-alive connection waits for the client's
    // delayed ACK, about 40 ms per request. Must be set before the HTTP server class loads.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    Properties config = new Properties();
    try (InputStream in = new FileInputStream(args[0])) {
      config.load(in);
    }
    RestProxy proxy = new RestProxy(config);
    String host = config.getProperty("http.host", "127.0.0.1");
    int port = Integer.parseInt(config.getProperty("http.port", "8082"));
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 64);
    server.createContext("/", proxy::handle);
    server.setExecutor(Executors.newFixedThreadPool(8));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.stop(1);
      proxy.producer.close(java.time.Duration.ofSeconds(5));
      proxy.admin.close(java.time.Duration.ofSeconds(2));
    }));
    server.start();
    System.out.printf("REST proxy listening on http://%s:%d%n", host, port);
  }

  void handle(HttpExchange exchange) throws IOException {
    try {
      route(exchange);
    } catch (Exception e) {
      reply(exchange, 500, error(500, String.valueOf(e)));
    } finally {
      exchange.close();
    }
  }

  void route(HttpExchange exchange) throws Exception {
    String path = exchange.getRequestURI().getPath();
    String method = exchange.getRequestMethod();
    if (path.equals("/healthy")) {
      reply(exchange, 204, null);
    } else if (path.equals("/ready")) {
      reply(exchange, kafkaAnswers() ? 204 : 503, null);
    } else if (path.equals("/topics") || path.equals("/topics/")) {
      if (!method.equals("GET")) {
        reply(exchange, 405, error(405, "use GET on /topics"));
        return;
      }
      reply(exchange, 200, topics());
    } else if (path.startsWith("/topics/") && path.indexOf('/', 8) < 0) {
      if (!method.equals("POST")) {
        reply(exchange, 405, error(405, "use POST on /topics/{topic}"));
        return;
      }
      produce(exchange, path.substring(8));
    } else {
      reply(exchange, 404, error(404, "no such endpoint: " + method + " " + path));
    }
  }

  boolean kafkaAnswers() {
    try {
      admin.describeCluster().clusterId().get(3, TimeUnit.SECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  JsonNode topics() throws Exception {
    ArrayNode names = MAPPER.createArrayNode();
    for (String name : new TreeSet<>(admin.listTopics().names().get(5, TimeUnit.SECONDS))) {
      names.add(name);
    }
    return names;
  }

  void produce(HttpExchange exchange, String topic) throws IOException {
    String type = exchange.getRequestHeaders().getFirst("Content-Type");
    if (!JSON_V2.equals(type)) {
      reply(exchange, 415, error(415, "Content-Type must be exactly " + JSON_V2 + ", got " + type));
      return;
    }
    byte[] body = exchange.getRequestBody().readNBytes((int) Math.min(maxBodyBytes + 1, Integer.MAX_VALUE));
    if (body.length > maxBodyBytes) {
      reply(exchange, 413, error(413, "request body larger than " + maxBodyBytes + " bytes"));
      return;
    }
    JsonNode records;
    try {
      records = MAPPER.readTree(body).get("records");
    } catch (IOException | NullPointerException e) {
      reply(exchange, 422, error(422, "body is not JSON: " + e.getMessage()));
      return;
    }
    String problem = checkRecords(records);
    if (problem != null) {
      reply(exchange, 422, error(422, problem));
      return;
    }
    reply(exchange, 200, MAPPER.createObjectNode().set("offsets", send(topic, records)));
  }

  static String checkRecords(JsonNode records) {
    if (records == null || !records.isArray() || records.isEmpty()) {
      return "body must be {\"records\": [...]} with at least one record";
    }
    for (int i = 0; i < records.size(); i++) {
      JsonNode record = records.get(i);
      if (!record.isObject() || !record.has("value")) {
        return "record " + i + " must be an object with a \"value\"";
      }
      if (record.has("partition") && !record.get("partition").canConvertToInt()) {
        return "record " + i + ": partition must be an integer";
      }
    }
    return null;
  }

  ArrayNode send(String topic, JsonNode records) {
    ArrayNode offsets = MAPPER.createArrayNode();
    try {
      producer.partitionsFor(topic);  // fails once, after max.block.ms, for an unknown topic
    } catch (Exception e) {
      for (int i = 0; i < records.size(); i++) {
        offsets.add(error(errorCode(e), e.getMessage()));
      }
      return offsets;
    }
    List<Future<RecordMetadata>> futures = new ArrayList<>();
    for (JsonNode record : records) {
      futures.add(sendOne(topic, record));
    }
    for (Future<RecordMetadata> future : futures) {
      try {
        RecordMetadata metadata = future.get();
        ObjectNode offset = MAPPER.createObjectNode();
        offset.put("partition", metadata.partition());
        offset.put("offset", metadata.offset());
        offsets.add(offset);
      } catch (ExecutionException e) {
        offsets.add(error(errorCode(e.getCause()), e.getCause().getMessage()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        offsets.add(error(500, "interrupted"));
      }
    }
    return offsets;
  }

  Future<RecordMetadata> sendOne(String topic, JsonNode record) {
    try {
      JsonNode key = record.get("key");
      byte[] keyBytes = key == null || key.isNull() ? null : MAPPER.writeValueAsBytes(key);
      byte[] value = MAPPER.writeValueAsBytes(record.get("value"));
      Integer partition = record.has("partition") ? record.get("partition").asInt() : null;
      return producer.send(new ProducerRecord<>(topic, partition, keyBytes, value));
    } catch (Exception e) {
      return java.util.concurrent.CompletableFuture.failedFuture(e);
    }
  }

  static int errorCode(Throwable e) {
    String message = String.valueOf(e.getMessage());
    boolean unknown = e instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException
        || message.contains("not present in metadata");
    return unknown ? 404 : 500;
  }

  static ObjectNode error(int code, String message) {
    ObjectNode node = MAPPER.createObjectNode();
    node.put("error_code", code);
    node.put("message", message);
    return node;
  }

  static void reply(HttpExchange exchange, int status, JsonNode body) throws IOException {
    if (body == null) {
      exchange.sendResponseHeaders(status, -1);
      return;
    }
    byte[] bytes = MAPPER.writeValueAsString(body).getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", JSON_V2);
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }
}
