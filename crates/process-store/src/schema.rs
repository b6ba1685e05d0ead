//! The one schema both backends share (migrations in `migrations/{sqlite,postgres}`).

diesel::table! {
    users (id) {
        id -> Text,
        name -> Text,
        admin -> Bool,
        password_hash -> Nullable<Text>,
        creation_time -> BigInt,
        session_version -> BigInt,
        email -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        external -> Bool,
    }
}

diesel::table! {
    user_groups (user_id, name) {
        user_id -> Text,
        name -> Text,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> Text,
        creation_time -> BigInt,
        expires_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    processes (id) {
        id -> BigInt,
        user_id -> Nullable<Text>,
        script_name -> Text,
        status -> Text,
        creation_time -> BigInt,
        start_time -> Nullable<BigInt>,
        end_time -> Nullable<BigInt>,
        not_before -> Nullable<BigInt>,
        percent_complete -> Nullable<Integer>,
        status_reason -> Nullable<Text>,
        exit_code -> Nullable<Integer>,
        dependency_type -> Text,
        executor_job_id -> Nullable<Text>,
        output_truncated -> Bool,
        access_hash -> Nullable<Text>,
    }
}

diesel::table! {
    process_parameters (process_id, position) {
        process_id -> BigInt,
        position -> Integer,
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    process_dependencies (process_id, depends_on) {
        process_id -> BigInt,
        depends_on -> BigInt,
    }
}

diesel::table! {
    process_files (id) {
        id -> Text,
        process_id -> BigInt,
        name -> Text,
        filetype -> Text,
        size_bytes -> BigInt,
        md5 -> Text,
        storage_path -> Text,
        creation_time -> BigInt,
    }
}

diesel::table! {
    output_lines (process_id, seq) {
        process_id -> BigInt,
        seq -> BigInt,
        time -> BigInt,
        stream -> Text,
        line -> Text,
    }
}

diesel::table! {
    upload_definitions (id) {
        id -> Text,
        user_id -> Text,
        status -> Text,
        process_id -> Nullable<BigInt>,
        create_date -> BigInt,
        updated_date -> BigInt,
        updated_by -> Text,
    }
}

diesel::table! {
    upload_files (id) {
        id -> Text,
        upload_id -> Text,
        position -> Integer,
        name -> Text,
        ui_key -> Nullable<Text>,
        status -> Text,
        create_date -> BigInt,
        uploaded_date -> Nullable<BigInt>,
        size_bytes -> Nullable<BigInt>,
        md5 -> Nullable<Text>,
    }
}

diesel::joinable!(user_groups -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(process_parameters -> processes (process_id));
diesel::joinable!(process_files -> processes (process_id));
diesel::joinable!(output_lines -> processes (process_id));
diesel::joinable!(upload_files -> upload_definitions (upload_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_groups,
    api_tokens,
    processes,
    process_parameters,
    process_dependencies,
    process_files,
    output_lines,
    upload_definitions,
    upload_files,
);

diesel::table! {
    service_secrets (name) {
        name -> Text,
        value -> Text,
        creation_time -> BigInt,
    }
}

diesel::table! {
    process_status_counts (status) {
        status -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        process_id -> BigInt,
        user_id -> Nullable<Text>,
        kind -> Text,
        time -> BigInt,
        process -> Text,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        user_id -> Text,
        url -> Text,
        secret -> Text,
        base_url -> Text,
        all_processes -> Bool,
        creation_time -> BigInt,
        after_event -> BigInt,
    }
}

diesel::table! {
    webhook_cursor (id) {
        id -> Integer,
        last_event -> BigInt,
    }
}

diesel::table! {
    webhook_events (kind, webhook_id) {
        webhook_id -> BigInt,
        kind -> Text,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event_id -> BigInt,
        process_id -> BigInt,
        state -> Text,
        attempts -> Integer,
        queued_time -> BigInt,
        next_attempt -> BigInt,
        last_attempt -> Nullable<BigInt>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
    }
}

diesel::joinable!(webhook_events -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::allow_tables_to_appear_in_same_query!(events, webhooks, webhook_events, webhook_deliveries);
