-- The three source tables of the Pinterest pipeline (DESIGN.md, "The data").
-- Runs on MariaDB 10.11+ and MySQL 8. Every statement is idempotent. Text columns are nullable
-- on purpose: the pipeline downstream must cope with NULLs. `index` is a reserved word: every
-- identifier here is backquoted. No semicolon may appear except at the end of a statement.

CREATE TABLE IF NOT EXISTS `pinterest_data` (
    `index` INT NOT NULL,
    `unique_id` CHAR(36) NULL,
    `title` TEXT NULL,
    `description` MEDIUMTEXT NULL,
    `poster_name` VARCHAR(255) NULL,
    `follower_count` VARCHAR(32) NULL,
    `tag_list` TEXT NULL,
    `is_image_or_video` VARCHAR(64) NULL,
    `image_src` VARCHAR(2048) NULL,
    `downloaded` TINYINT NULL,
    `save_location` VARCHAR(255) NULL,
    `category` VARCHAR(64) NULL,
    PRIMARY KEY (`index`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `geolocation_data` (
    `ind` INT NOT NULL,
    `timestamp` DATETIME NULL,
    `latitude` DOUBLE NULL,
    `longitude` DOUBLE NULL,
    `country` VARCHAR(255) NULL,
    PRIMARY KEY (`ind`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `user_data` (
    `ind` INT NOT NULL,
    `first_name` VARCHAR(255) NULL,
    `last_name` VARCHAR(255) NULL,
    `age` INT NULL,
    `date_joined` DATETIME NULL,
    PRIMARY KEY (`ind`)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
