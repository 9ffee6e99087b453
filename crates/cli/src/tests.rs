//! Command-line parsing: every command parses as DESIGN.md §3 writes it.

use clap::{CommandFactory as _, Parser as _};

use super::*;
use crate::setup::apps::{ConnectedAppCommand, EcaCommand, PermittedUsersArg};
use crate::setup::channels::{CcdCommand, ChannelCommand};
use crate::setup::{OrgCommand, PermissionSetCommand, UserCommand};
use byoc_proto::setup::{ChannelType, UserPermission};

fn parse(args: &str) -> Cli {
    let argv = std::iter::once("byoc").chain(args.split_whitespace());
    match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => panic!("`byoc {args}` did not parse:\n{e}"),
    }
}

fn parse_argv(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("byoc").chain(args.iter().copied()))
}

fn refuse(args: &str) -> clap::Error {
    match parse_argv(&args.split_whitespace().collect::<Vec<_>>()) {
        Ok(cli) => panic!("`byoc {args}` parsed: {cli:?}"),
        Err(e) => e,
    }
}

#[test]
fn the_command_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn every_command_explains_itself() {
    fn walk(cmd: &clap::Command, path: String) {
        for sub in cmd.get_subcommands() {
            let path = format!("{path} {}", sub.get_name());
            assert!(sub.get_about().is_some(), "`{path}` has no --help line");
            walk(sub, path);
        }
    }
    walk(&Cli::command(), "byoc".into());
}

#[test]
fn global_flags_go_before_or_after_the_subcommand() {
    for args in [
        "--url http://x:1 --data-dir /d --output json --as u@x setup eca list",
        "setup eca list --url http://x:1 --data-dir /d --output json --as u@x",
        "setup --output json eca --as u@x list --url http://x:1 --data-dir /d",
    ] {
        let cli = parse(args);
        assert_eq!(cli.global.url.as_deref(), Some("http://x:1"), "{args}");
        assert_eq!(cli.global.data_dir, PathBuf::from("/d"), "{args}");
        assert_eq!(cli.global.output, OutputFormat::Json, "{args}");
        assert_eq!(cli.global.act_as.as_deref(), Some("u@x"), "{args}");
        assert!(matches!(
            cli.command,
            Command::Setup(SetupCommand::Eca(EcaCommand::List))
        ));
    }
}

#[test]
fn global_defaults() {
    // BYOC_URL / BYOC_DATA_DIR may be set in the environment running the tests; only check the
    // flags that have no env.
    let cli = parse("setup org show");
    assert_eq!(cli.global.output, OutputFormat::Text);
    assert_eq!(cli.global.act_as, None);
    assert!(matches!(
        cli.command,
        Command::Setup(SetupCommand::Org(OrgCommand::Show))
    ));
}

#[test]
fn output_format_is_validated() {
    let e = refuse("--output yaml setup org show");
    assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
}

#[test]
fn serve_defaults_and_flags() {
    let cli = parse("serve");
    let Command::Serve(args) = cli.command else {
        panic!("not serve")
    };
    assert_eq!(args.listen.to_string(), "127.0.0.1:6101");
    assert_eq!(args.scrt_listen.to_string(), "127.0.0.1:8085");
    assert_eq!(args.pubsub_listen.to_string(), "127.0.0.1:7443");
    assert!(!args.empty);

    let cli = parse("serve --listen 127.0.0.1:0 --scrt-listen 127.0.0.1:0 --pubsub-listen [::1]:0 --database-url postgres://u@h/db --empty");
    let Command::Serve(args) = cli.command else {
        panic!("not serve")
    };
    assert_eq!(args.listen.port(), 0);
    assert_eq!(args.pubsub_listen.to_string(), "[::1]:0");
    assert_eq!(args.database_url.as_deref(), Some("postgres://u@h/db"));
    assert!(args.empty);
    assert!(!args.strict);
    assert!(args.audiences.is_empty());

    let cli = parse("serve --strict --audience https://a.example --audience https://b.example");
    let Command::Serve(args) = cli.command else {
        panic!("not serve")
    };
    assert!(args.strict);
    assert_eq!(args.audiences, ["https://a.example", "https://b.example"]);
}

#[test]
fn token_and_logins_flags() {
    let cli =
        parse("token --env-file p.env --key-file k.pem --passphrase-env PW --username u@x.com");
    let Command::Token(args) = cli.command else {
        panic!("not token")
    };
    assert_eq!(args.env_file.unwrap().to_str(), Some("p.env"));
    assert_eq!(args.key_file.unwrap().to_str(), Some("k.pem"));
    assert_eq!(args.passphrase_env.as_deref(), Some("PW"));
    assert_eq!(args.subject.as_deref(), Some("u@x.com"));

    let cli = parse("logins --status failure --limit 5 --app Sample --username u@x.com");
    let Command::Logins(args) = cli.command else {
        panic!("not logins")
    };
    assert_eq!(args.status, Some(logins::StatusFilter::Failure));
    assert_eq!(args.limit, Some(5));
    refuse("logins --status maybe");
    refuse("logins --limit 0");
}

#[test]
fn user_commands() {
    let cli = parse_argv(&[
        "setup",
        "user",
        "create",
        "--username",
        "ops@example.com",
        "--profile",
        "Standard User",
        "--permission-set",
        "ECA Managers",
        "--permission-set",
        "Other",
        "--inactive",
    ])
    .unwrap();
    let Command::Setup(SetupCommand::User(UserCommand::Create(args))) = cli.command else {
        panic!("not user create")
    };
    assert_eq!(args.profile, "Standard User");
    assert_eq!(args.permission_sets, vec!["ECA Managers", "Other"]);
    assert!(args.inactive);
    assert_eq!(args.email, None);

    assert!(matches!(
        parse("setup user show a@b").command,
        Command::Setup(SetupCommand::User(UserCommand::Show { username })) if username == "a@b"
    ));
    let e = refuse("setup user create --username a@b");
    assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);

    let Command::Setup(SetupCommand::User(UserCommand::Update(args))) =
        parse("setup user update a@b --active false").command
    else {
        panic!("not user update")
    };
    assert_eq!((args.username.as_str(), args.active), ("a@b", Some(false)));
    let e = refuse("setup user update a@b");
    assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    assert!(matches!(
        parse("setup eca update App --oauth-enabled false").command,
        Command::Setup(SetupCommand::Eca(EcaCommand::Update(u)))
            if u.app.oauth_enabled == Some(false)
    ));
}

#[test]
fn permission_set_permissions_are_validated() {
    let cli = parse("setup permission-set create --name Eca --permission manage-external-client-apps --permission modify-all-data");
    let Command::Setup(SetupCommand::PermissionSet(PermissionSetCommand::Create(args))) =
        cli.command
    else {
        panic!("not permission-set create")
    };
    assert_eq!(
        args.permissions,
        vec![
            UserPermission::ManageExternalClientApps,
            UserPermission::ModifyAllData
        ]
    );
    let e = refuse("setup permission-set create --name Eca --permission sudo");
    let text = e.to_string();
    assert!(text.contains("unknown permission 'sudo'"), "{text}");
    assert!(text.contains("manage-profiles-permission-sets"), "{text}");
}

#[test]
fn org_set_takes_true_or_false() {
    let cli = parse("setup org set --allow-connected-app-creation true");
    let Command::Setup(SetupCommand::Org(OrgCommand::Set(args))) = cli.command else {
        panic!("not org set")
    };
    assert!(args.allow_connected_app_creation);
    refuse("setup org set --allow-connected-app-creation maybe");
    refuse("setup org set");
}

#[test]
fn eca_create_takes_lists_comma_separated_or_repeated() {
    let cli = parse("setup eca create --name Acme --contact-email a@b.c --callback-url https://a/cb,https://b/cb --callback-url https://c/cb --scopes interaction_api,refresh_token --jwt-bearer --certificate k/server.crt");
    let Command::Setup(SetupCommand::Eca(EcaCommand::Create(args))) = cli.command else {
        panic!("not eca create")
    };
    assert_eq!(
        args.app.callback_urls,
        vec!["https://a/cb", "https://b/cb", "https://c/cb"]
    );
    assert_eq!(args.app.scopes, vec!["interaction_api", "refresh_token"]);
    assert_eq!(args.jwt_bearer, Some(true));
    assert_eq!(args.app.certificate, Some(PathBuf::from("k/server.crt")));

    let cli = parse("setup eca create --name Acme --contact-email a@b.c --callback-url https://a/cb --scopes api");
    let Command::Setup(SetupCommand::Eca(EcaCommand::Create(args))) = cli.command else {
        panic!("not eca create")
    };
    assert_eq!(args.jwt_bearer, None);
    refuse("setup eca create --name Acme --contact-email a@b.c --scopes api");
}

#[test]
fn eca_update_takes_optional_flags_and_bool_jwt_bearer() {
    let cli = parse_argv(&[
        "setup",
        "eca",
        "update",
        "Acme Connector",
        "--jwt-bearer=false",
        "--name",
        "Acme 2",
        "--remove-certificate",
    ])
    .unwrap();
    let Command::Setup(SetupCommand::Eca(EcaCommand::Update(args))) = cli.command else {
        panic!("not eca update")
    };
    assert_eq!(args.app.app, "Acme Connector");
    assert_eq!(args.app.rename.as_deref(), Some("Acme 2"));
    assert_eq!(args.jwt_bearer, Some(false));
    assert!(args.app.remove_certificate);
    assert_eq!(args.app.scopes, None);

    let cli = parse("setup eca update Acme --jwt-bearer true --scopes api");
    let Command::Setup(SetupCommand::Eca(EcaCommand::Update(args))) = cli.command else {
        panic!("not eca update")
    };
    assert_eq!(args.jwt_bearer, Some(true));
    assert_eq!(args.app.scopes, Some(vec!["api".to_string()]));

    refuse("setup eca update Acme --certificate x.crt --remove-certificate");
}

#[test]
fn eca_policies_validates_permitted_users_and_needs_a_change() {
    let cli = parse_argv(&[
        "setup",
        "eca",
        "policies",
        "Acme",
        "--permitted-users",
        "admin-approved",
        "--profile",
        "System Administrator",
        "--permission-set",
        "Connector Users",
        "--session-timeout",
        "30",
    ])
    .unwrap();
    let Command::Setup(SetupCommand::Eca(EcaCommand::Policies(args))) = cli.command else {
        panic!("not eca policies")
    };
    assert_eq!(args.permitted_users, Some(PermittedUsersArg::AdminApproved));
    assert_eq!(
        args.profiles,
        Some(vec!["System Administrator".to_string()])
    );
    assert_eq!(
        args.permission_sets,
        Some(vec!["Connector Users".to_string()])
    );
    assert_eq!(args.session_timeout, Some(30));

    let e = refuse("setup eca policies Acme --permitted-users everyone");
    assert!(e.to_string().contains("admin-approved"), "{e}");
    assert!(e.to_string().contains("self-authorize"), "{e}");
    let e = refuse("setup eca policies Acme");
    assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
}

#[test]
fn eca_show_list_delete_migrate() {
    assert!(matches!(
        parse("setup eca show Acme").command,
        Command::Setup(SetupCommand::Eca(EcaCommand::Show(_)))
    ));
    assert!(matches!(
        parse("setup eca delete Acme").command,
        Command::Setup(SetupCommand::Eca(EcaCommand::Delete(_)))
    ));
    let cli = parse("setup eca migrate --from-connected-app Legacy");
    let Command::Setup(SetupCommand::Eca(EcaCommand::Migrate(args))) = cli.command else {
        panic!("not eca migrate")
    };
    assert_eq!(args.from_connected_app, "Legacy");
}

#[test]
fn connected_app_commands() {
    let cli = parse("setup connected-app create --name Legacy --contact-email a@b.c --callback-url https://a/cb --scopes interaction_api,refresh_token --certificate server.crt");
    assert!(matches!(
        cli.command,
        Command::Setup(SetupCommand::ConnectedApp(ConnectedAppCommand::Create(_)))
    ));
    let cli = parse_argv(&[
        "setup",
        "connected-app",
        "profiles",
        "Legacy",
        "--add",
        "System Administrator",
        "--remove",
        "Standard User",
        "--add-permission-set",
        "PS",
    ])
    .unwrap();
    let Command::Setup(SetupCommand::ConnectedApp(ConnectedAppCommand::Profiles(args))) =
        cli.command
    else {
        panic!("not connected-app profiles")
    };
    assert_eq!(args.add_profiles, vec!["System Administrator"]);
    assert_eq!(args.remove_profiles, vec!["Standard User"]);
    assert_eq!(args.add_permission_sets, vec!["PS"]);
    refuse("setup connected-app profiles Legacy");
    assert!(matches!(
        parse("setup connected-app policies Legacy --permitted-users self-authorize").command,
        Command::Setup(SetupCommand::ConnectedApp(ConnectedAppCommand::Policies(_)))
    ));
    assert!(matches!(
        parse("setup connected-app update Legacy --contact-email x@y.z").command,
        Command::Setup(SetupCommand::ConnectedApp(ConnectedAppCommand::Update(_)))
    ));
}

#[test]
fn channel_types_and_owners_are_validated() {
    let cli = parse("setup channel create --name Acme --type byoc-messaging --address acme-1 --app-managed-by customer --routing-owner partner --consent-owner salesforce");
    let Command::Setup(SetupCommand::Channel(ChannelCommand::Create(args))) = cli.command else {
        panic!("not channel create")
    };
    assert_eq!(args.channel_type, ChannelType::ByocMessaging);
    let e = refuse("setup channel create --name A --type telegram --address x");
    assert!(e.to_string().contains("valid types: byoc-messaging"), "{e}");
    let e = refuse("setup channel create --name A --type sms --address x --app-managed-by me");
    assert!(e.to_string().contains("customer"), "{e}");
}

#[test]
fn ccd_and_audit() {
    let cli = parse("setup ccd set Acme_CCD --app Acme");
    assert!(matches!(
        cli.command,
        Command::Setup(SetupCommand::Ccd(CcdCommand::Set { developer_name, app }))
            if developer_name == "Acme_CCD" && app == "Acme"
    ));
    assert!(matches!(
        parse("setup ccd show Acme_CCD").command,
        Command::Setup(SetupCommand::Ccd(CcdCommand::Show { .. }))
    ));
    let cli = parse("setup audit --limit 5");
    let Command::Setup(SetupCommand::Audit(args)) = cli.command else {
        panic!("not audit")
    };
    assert_eq!(args.limit, Some(5));
    refuse("setup audit --limit 0");
}

#[test]
fn cert_and_ca() {
    let cli = parse("cert new --out keys");
    let Command::Cert(CertCommand::New(args)) = cli.command else {
        panic!("not cert new")
    };
    assert_eq!(args.cn, "byoc");
    assert_eq!(args.days, 365);
    assert!(!args.force);
    refuse("cert new --out keys --passphrase-env A --passphrase-file b");
    refuse("cert new --out keys --days 0");
    refuse("cert new");
    let cli = parse("ca --pem");
    assert!(matches!(cli.command, Command::Ca(ca::CaArgs { pem: true })));
}

#[tokio::test]
async fn admin_commands_without_an_org_say_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nothing-here");
    let cli = parse_argv(&["setup", "eca", "list", "--data-dir", data.to_str().unwrap()]).unwrap();
    let err = execute(cli).await.unwrap_err();
    assert_eq!(
        err.message,
        format!(
            "no org in {} ({} not found): start one with `byoc serve`, or pass --data-dir",
            data.display(),
            data.join("org.json").display()
        )
    );
    assert_eq!(err.exit_code, 1);
}

#[test]
fn the_url_comes_from_the_flag_then_org_json_then_the_default() {
    let org = byoc_proto::files::OrgFile {
        org_id: "00D000000000001".into(),
        org_id_18: "00D000000000001AAA".into(),
        my_domain: "byoc".into(),
        login_url: "http://127.0.0.1:40000".into(),
        instance_url: "http://127.0.0.1:40000".into(),
        scrt_url: "http://127.0.0.1:40001".into(),
        login_url_https: "https://127.0.0.1:40003".into(),
        instance_url_https: "https://127.0.0.1:40003".into(),
        scrt_url_https: "https://127.0.0.1:40004".into(),
        pubsub_endpoint: "127.0.0.1:40002".into(),
        ca_cert: "/d/ca.crt".into(),
        admin_username: "admin@byoc.example".into(),
        admin_token: "t".into(),
        admin_password: Some("p4ssword".into()),
        database: "sqlite".into(),
        clock: None,
    };
    let mut global = parse("setup org show").global;
    global.url = None;
    let ctx = context::Context::new(global.clone());
    assert_eq!(ctx.url(None), DEFAULT_URL);
    assert_eq!(ctx.url(Some(&org)), "http://127.0.0.1:40000");
    global.url = Some("http://elsewhere:1".into());
    let ctx = context::Context::new(global);
    assert_eq!(ctx.url(Some(&org)), "http://elsewhere:1");
}

#[test]
fn tables_align_columns() {
    let text = output::table(
        &["Name", "API Name", "Consumer Key"],
        &[
            vec![
                "Acme Connector".into(),
                "Acme_Connector".into(),
                "3MVG9x".into(),
            ],
            vec!["B".into(), "B".into(), "3MVG9y".into()],
        ],
    );
    assert_eq!(
        text,
        "Name            API Name        Consumer Key\n\
         Acme Connector  Acme_Connector  3MVG9x\n\
         B               B               3MVG9y\n"
    );
}

#[test]
fn errors_render_as_json_with_the_rest_errors() {
    let err = CliError::from(byoc_client::ClientError::Api {
        status: 403,
        errors: vec![byoc_proto::admin::RestError {
            message: "no".into(),
            error_code: "INSUFFICIENT_ACCESS".into(),
            fields: vec![],
        }],
    });
    assert_eq!(
        output::error_json(&err),
        serde_json::json!({"error": "no", "errors": [{"message": "no", "errorCode": "INSUFFICIENT_ACCESS"}]})
    );
}
