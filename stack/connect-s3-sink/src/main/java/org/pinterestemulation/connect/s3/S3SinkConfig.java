package org.pinterestemulation.connect.s3;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * The configuration of the S3 sink, under the keys of Aiven's S3 sink connector.
 *
 * <p>Only the subset this sink implements is accepted: JSON lines of the record value, no
 * envelope, no compression, and file names built from {@code {{topic}}}, {@code {{partition}}}
 * and {@code {{start_offset}}}. Any other value is refused with a {@link ConfigException} that
 * names the key. Where Aiven's default is a value this sink does not implement (output type
 * {@code csv}, envelope {@code true}, compression {@code gzip}), the key has no default here and
 * must be set, so that a configuration means the same to both connectors.
 */
public final class S3SinkConfig extends AbstractConfig {

    public static final String ACCESS_KEY_ID = "aws.access.key.id";
    public static final String SECRET_ACCESS_KEY = "aws.secret.access.key";
    public static final String BUCKET = "aws.s3.bucket.name";
    public static final String ENDPOINT = "aws.s3.endpoint";
    public static final String REGION = "aws.s3.region";
    public static final String FILE_NAME_TEMPLATE = "file.name.template";
    public static final String FILE_MAX_RECORDS = "file.max.records";
    public static final String OUTPUT_TYPE = "format.output.type";
    public static final String OUTPUT_FIELDS = "format.output.fields";
    public static final String OUTPUT_ENVELOPE = "format.output.envelope";
    public static final String COMPRESSION = "file.compression.type";

    static final Set<String> TEMPLATE_VARIABLES = Set.of("topic", "partition", "start_offset");
    private static final Pattern VARIABLE = Pattern.compile("\\{\\{([^}]*)}}");

    /** The definition of every key this sink reads. */
    public static final ConfigDef CONFIG_DEF = new ConfigDef()
        .define(ACCESS_KEY_ID, Type.PASSWORD, null, Importance.HIGH,
            "AWS access key id; with " + SECRET_ACCESS_KEY + ", or neither for the SDK's default"
                + " credentials chain.")
        .define(SECRET_ACCESS_KEY, Type.PASSWORD, null, Importance.HIGH,
            "AWS secret access key; with " + ACCESS_KEY_ID + ".")
        .define(BUCKET, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
            Importance.HIGH, "The bucket objects are written to.")
        .define(ENDPOINT, Type.STRING, null, S3SinkConfig::ensureUrl, Importance.MEDIUM,
            "S3 endpoint URL for an S3-compatible store; path-style access is used with it.")
        .define(REGION, Type.STRING, "us-east-1", new ConfigDef.NonEmptyString(),
            Importance.MEDIUM, "AWS region.")
        .define(FILE_NAME_TEMPLATE, Type.STRING, "{{topic}}-{{partition}}-{{start_offset}}",
            S3SinkConfig::ensureTemplate, Importance.HIGH,
            "Object key template; must use {{topic}}, {{partition}} and {{start_offset}}, and"
                + " nothing else.")
        .define(FILE_MAX_RECORDS, Type.INT, 1000, ConfigDef.Range.atLeast(0), Importance.MEDIUM,
            "Records per object: a partition's buffer is uploaded when it holds this many"
                + " (0: no limit; buffers are still uploaded at every offset commit).")
        .define(OUTPUT_TYPE, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
            ConfigDef.ValidString.in("jsonl"), Importance.HIGH,
            "Output format; only jsonl (one JSON value per line).")
        .define(OUTPUT_FIELDS, Type.LIST, "value", S3SinkConfig::ensureValueOnly, Importance.HIGH,
            "Fields written per record; only value.")
        .define(OUTPUT_ENVELOPE, Type.BOOLEAN, ConfigDef.NO_DEFAULT_VALUE,
            S3SinkConfig::ensureFalse, Importance.HIGH,
            "Whether the value is wrapped in an object; only false.")
        .define(COMPRESSION, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
            ConfigDef.ValidString.in("none"), Importance.HIGH, "Compression; only none.");

    /**
     * Parse and check a connector or task configuration.
     *
     * @param props the configuration as given to the connector
     * @throws ConfigException naming the key of a missing, malformed or unsupported value
     */
    public S3SinkConfig(Map<String, String> props) {
        super(CONFIG_DEF, props);
        if ((accessKey() == null) != (secretKey() == null)) {
            throw new ConfigException(accessKey() == null ? ACCESS_KEY_ID : SECRET_ACCESS_KEY,
                "<hidden>", "set both " + ACCESS_KEY_ID + " and " + SECRET_ACCESS_KEY + ", or neither");
        }
    }

    /** The access key id, or null for the SDK's default credentials chain. */
    public String accessKey() {
        Password value = getPassword(ACCESS_KEY_ID);
        return value == null ? null : value.value();
    }

    /** The secret access key, or null. */
    public String secretKey() {
        Password value = getPassword(SECRET_ACCESS_KEY);
        return value == null ? null : value.value();
    }

    public String bucket() {
        return getString(BUCKET);
    }

    /** The endpoint override, or null for AWS's own endpoint. */
    public URI endpoint() {
        String value = getString(ENDPOINT);
        return value == null ? null : URI.create(value);
    }

    public String region() {
        return getString(REGION);
    }

    /** The number of records that triggers an upload, or 0 for no limit. */
    public int maxRecords() {
        return getInt(FILE_MAX_RECORDS);
    }

    /** Return the object key of a buffer of one topic-partition that starts at {@code startOffset}. */
    public String objectKey(String topic, int partition, long startOffset) {
        return getString(FILE_NAME_TEMPLATE)
            .replace("{{topic}}", topic)
            .replace("{{partition}}", Integer.toString(partition))
            .replace("{{start_offset}}", Long.toString(startOffset));
    }

    private static void ensureUrl(String name, Object value) {
        if (value == null) {
            return;
        }
        try {
            URI uri = new URI((String) value);
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
                || uri.getHost() == null) {
                throw new ConfigException(name, value, "must be an http or https URL");
            }
        } catch (URISyntaxException e) {
            throw new ConfigException(name, value, "not a URL: " + e.getMessage());
        }
    }

    private static void ensureTemplate(String name, Object value) {
        String template = (String) value;
        Set<String> found = new TreeSet<>();
        Matcher matcher = VARIABLE.matcher(template);
        while (matcher.find()) {
            String variable = matcher.group(1);
            if (!TEMPLATE_VARIABLES.contains(variable)) {
                throw new ConfigException(name, value, "unsupported variable {{" + variable
                    + "}}; this sink knows {{topic}}, {{partition}} and {{start_offset}} only");
            }
            found.add(variable);
        }
        if (!found.containsAll(TEMPLATE_VARIABLES)) {
            throw new ConfigException(name, value,
                "must use {{topic}}, {{partition}} and {{start_offset}}, so that objects of"
                    + " different buffers never share a key");
        }
    }

    private static void ensureValueOnly(String name, Object value) {
        if (!List.of("value").equals(value)) {
            throw new ConfigException(name, value, "only 'value' is supported");
        }
    }

    private static void ensureFalse(String name, Object value) {
        if (!Boolean.FALSE.equals(value) && !"false".equalsIgnoreCase(String.valueOf(value).trim())) {
            throw new ConfigException(name, value, "only false is supported");
        }
    }
}
