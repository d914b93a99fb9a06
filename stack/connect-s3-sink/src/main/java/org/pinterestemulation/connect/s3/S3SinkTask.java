package org.pinterestemulation.connect.s3;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * Buffers records per topic-partition and uploads each buffer to S3 as one object of JSON lines.
 *
 * <p>A buffer is uploaded when it holds {@code file.max.records} records (in {@link #put}) and
 * at every offset commit (in {@link #preCommit}, called every {@code offset.flush.interval.ms}).
 * Each record value is written by {@link JsonConverter} without schemas, one per line; null
 * values (tombstones) are skipped, but their offsets count as processed. {@link #preCommit}
 * returns, per partition, the offset after the last uploaded record, so the worker commits
 * nothing that is not in S3. A failed upload keeps the buffer: in {@code put} it is thrown as a
 * {@link RetriableException}, so the worker pauses and hands the same records again (records
 * already buffered are recognised by offset and skipped); in {@code preCommit} it is logged and
 * that partition's offset is not advanced. Buffers of revoked partitions are dropped without a
 * commit; their records are read again by whichever task gets the partition.
 */
public final class S3SinkTask extends SinkTask {

    private static final Logger log = LoggerFactory.getLogger(S3SinkTask.class);
    private static final long RETRY_BACKOFF_MS = 2000;

    private S3SinkConfig config;
    private S3Client s3;
    private final JsonConverter converter = new JsonConverter();
    private final Map<TopicPartition, Buffer> buffers = new LinkedHashMap<>();
    /** Per partition: the offset after the last record handed to this task (to skip repeats). */
    private final Map<TopicPartition, Long> nextOffsets = new HashMap<>();
    /** Per partition: the offset after the last record that is uploaded (or was a tombstone). */
    private final Map<TopicPartition, Long> doneOffsets = new HashMap<>();

    /** The records of one topic-partition that are not uploaded yet. */
    private static final class Buffer {
        private final ByteArrayOutputStream lines = new ByteArrayOutputStream();
        private long startOffset = -1;
        private long endOffset = -1;
        private int records;

        void add(long offset, byte[] json) {
            if (records == 0) {
                startOffset = offset;
            }
            lines.write(json, 0, json.length);
            lines.write('\n');
            records++;
        }

        void clear() {
            lines.reset();
            startOffset = -1;
            records = 0;
        }
    }

    @Override
    public String version() {
        return S3SinkConnector.VERSION;
    }

    @Override
    public void start(Map<String, String> props) {
        config = new S3SinkConfig(props);
        converter.configure(Map.of("schemas.enable", "false"), false);
        S3ClientBuilder builder = S3Client.builder()
            .region(Region.of(config.region()))
            .httpClientBuilder(Apache5HttpClient.builder()
                .connectionTimeout(Duration.ofSeconds(5))
                .socketTimeout(Duration.ofSeconds(30)))
            .overrideConfiguration(c -> c.apiCallTimeout(Duration.ofSeconds(60)));
        if (config.accessKey() != null) {
            builder.credentialsProvider(StaticCredentialsProvider.create(
                AwsBasicCredentials.create(config.accessKey(), config.secretKey())));
        } else {
            builder.credentialsProvider(DefaultCredentialsProvider.builder().build());
        }
        if (config.endpoint() != null) {
            builder.endpointOverride(config.endpoint()).forcePathStyle(true);
        }
        s3 = builder.build();
        log.info("S3 sink task started: bucket {}, endpoint {}, region {}, {} records per object",
            config.bucket(), config.endpoint() == null ? "AWS" : config.endpoint(),
            config.region(), config.maxRecords() == 0 ? "unlimited" : config.maxRecords());
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        for (Map.Entry<TopicPartition, Buffer> entry : buffers.entrySet()) {
            if (isFull(entry.getValue())) {
                upload(entry.getKey(), entry.getValue(), true);
            }
        }
        for (SinkRecord record : records) {
            TopicPartition tp =
                new TopicPartition(record.originalTopic(), record.originalKafkaPartition());
            long offset = record.originalKafkaOffset();
            Long next = nextOffsets.get(tp);
            if (next != null && offset < next) {
                continue;
            }
            nextOffsets.put(tp, offset + 1);
            Buffer buffer = buffers.computeIfAbsent(tp, k -> new Buffer());
            if (record.value() != null) {
                buffer.add(offset, converter.fromConnectData(tp.topic(), record.valueSchema(),
                    record.value()));
            }
            buffer.endOffset = offset + 1;
            if (buffer.records == 0) {
                doneOffsets.put(tp, buffer.endOffset);
            } else if (isFull(buffer)) {
                upload(tp, buffer, true);
            }
        }
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> preCommit(
            Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
        for (Map.Entry<TopicPartition, Buffer> entry : buffers.entrySet()) {
            try {
                upload(entry.getKey(), entry.getValue(), false);
            } catch (RetriableException e) {
                log.warn("{}; its offsets are not committed, the upload is tried again",
                    e.getMessage());
            }
        }
        Map<TopicPartition, OffsetAndMetadata> committable = new HashMap<>();
        for (TopicPartition tp : currentOffsets.keySet()) {
            Long done = doneOffsets.get(tp);
            if (done != null) {
                committable.put(tp, new OffsetAndMetadata(done));
            }
        }
        return committable;
    }

    @Override
    public void close(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            Buffer buffer = buffers.remove(tp);
            if (buffer != null && buffer.records > 0) {
                log.info("Dropping {} records of {} from offset {} that are not uploaded; they"
                    + " will be read again", buffer.records, tp, buffer.startOffset);
            }
            nextOffsets.remove(tp);
            doneOffsets.remove(tp);
        }
    }

    @Override
    public void stop() {
        close(new ArrayList<>(buffers.keySet()));
        if (s3 != null) {
            s3.close();
            s3 = null;
        }
    }

    private boolean isFull(Buffer buffer) {
        return config.maxRecords() > 0 && buffer.records >= config.maxRecords();
    }

    /**
     * Upload one buffer as one object and mark its offsets done; on failure keep the buffer.
     *
     * @param backOff whether to ask the worker to wait before handing the records again
     * @throws RetriableException if the upload failed
     */
    private void upload(TopicPartition tp, Buffer buffer, boolean backOff) {
        if (buffer.records == 0) {
            return;
        }
        String key = config.objectKey(tp.topic(), tp.partition(), buffer.startOffset);
        byte[] body = buffer.lines.toByteArray();
        long started = System.nanoTime();
        try {
            s3.putObject(
                PutObjectRequest.builder()
                    .bucket(config.bucket())
                    .key(key)
                    .contentType("application/x-ndjson")
                    .build(),
                RequestBody.fromBytes(body));
        } catch (SdkException e) {
            if (backOff) {
                context.timeout(RETRY_BACKOFF_MS);
            }
            throw new RetriableException(String.format("Upload of s3://%s/%s (%d records of %s"
                + " from offset %d) failed: %s", config.bucket(), key, buffer.records, tp,
                buffer.startOffset, e.getMessage()), e);
        }
        log.info("Uploaded s3://{}/{}: {} records, {} bytes, {} ms", config.bucket(), key,
            buffer.records, body.length, (System.nanoTime() - started) / 1_000_000);
        doneOffsets.put(tp, buffer.endOffset);
        buffer.clear();
    }
}
