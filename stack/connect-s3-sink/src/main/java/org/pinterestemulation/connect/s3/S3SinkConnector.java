package org.pinterestemulation.connect.s3;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/**
 * A Kafka Connect sink that writes each topic-partition's records to S3 as JSON lines, in
 * objects named like the Confluent S3 sink's ({@code topics/<topic>/partition=<p>/<topic>+<p>+
 * <start offset>.json} with the stack's template).
 *
 * <p>It reads Aiven's S3 sink configuration keys (see {@link S3SinkConfig}) and refuses values
 * it does not implement. Delivery is at least once: a buffer is uploaded when it reaches
 * {@code file.max.records} or at the worker's next offset commit, and offsets are committed only
 * for records that are uploaded. The work is done by {@link S3SinkTask}.
 */
public final class S3SinkConnector extends SinkConnector {

    /** The version reported to the worker. */
    public static final String VERSION = "1.0.0";

    private Map<String, String> props;

    @Override
    public void start(Map<String, String> props) {
        new S3SinkConfig(props);
        this.props = new HashMap<>(props);
    }

    @Override
    public Class<? extends Task> taskClass() {
        return S3SinkTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        List<Map<String, String>> configs = new ArrayList<>(maxTasks);
        for (int i = 0; i < maxTasks; i++) {
            configs.add(new HashMap<>(props));
        }
        return configs;
    }

    @Override
    public void stop() {
        props = null;
    }

    @Override
    public ConfigDef config() {
        return S3SinkConfig.CONFIG_DEF;
    }

    @Override
    public String version() {
        return VERSION;
    }
}
