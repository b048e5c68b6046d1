//! End-to-end tests on the shared test model stories260K.gguf.
//!
//! The data directory is $FWINFER_TEST_DATA, by default
//! ../../../../shared/data relative to this crate (the repository's
//! shared/data checkout next to it).

use std::path::PathBuf;

use fwinfer::{sys, Json, Message, Model};

fn data_dir() -> PathBuf {
    match std::env::var_os("FWINFER_TEST_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data"),
    }
}

fn model_path() -> PathBuf {
    data_dir().join("models/stories260K.gguf")
}

fn load() -> Model {
    let p = model_path();
    Model::load(&p).unwrap_or_else(|e| panic!("loading {}: {}", p.display(), e))
}

/// The llama2.c golden greedy continuation of "Once upon a time" (see
/// shared/data/MANIFEST.md).
const GOLDEN: &str =
    ", there was a little girl named Lily. She loved to play outside in the park. \
One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily";

fn greedy(max_tokens: i32) -> Json {
    Json::object()
        .with("max_tokens", max_tokens)
        .with("temperature", 0)
}

#[test]
fn version() {
    let n = fwinfer::version_number();
    let s = fwinfer::version_string();
    let want = format!("{}.{}.{}", n / 10000, n / 100 % 100, n % 100);
    assert_eq!(s, want);
    assert!(
        fwinfer::version_compatible(),
        "library {} has another ABI major",
        s
    );
    assert!(fwinfer::status_str(sys::FW_E_IO).starts_with("FW_E_IO"));
}

#[test]
fn load_error_names_the_path() {
    let missing = data_dir().join("models/no-such-model.gguf");
    let err = Model::load(&missing).unwrap_err();
    assert_eq!(err.status(), sys::FW_E_IO, "{:?}", err);
    assert!(
        err.message().contains(missing.to_str().unwrap()),
        "message does not name the path: {}",
        err
    );
    assert!(err.status_name().starts_with("FW_E_IO"));
    // Error is a std::error::Error.
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert!(boxed.to_string().contains("no-such-model.gguf"));
}

#[test]
fn model_info() {
    let m = load();
    assert_eq!(m.name(), "stories260K");
    assert_eq!(m.arch(), "llama");
    assert_eq!(m.n_vocab(), 512);
    assert_eq!(m.n_ctx_train(), 2048);
    assert_eq!(m.bos(), Some(1));
    assert_eq!(m.eos(), Some(2));
}

#[test]
fn tokenize_detokenize_round_trip() {
    let m = load();
    let toks = m.tokenize("Once upon a time", true, false).unwrap();
    assert_eq!(toks, vec![1, 403, 407, 261, 378]);
    // As llama.cpp: after a leading BOS the SPM space prefix is kept.
    assert_eq!(
        m.detokenize(&toks, true).unwrap().trim_start(),
        "Once upon a time"
    );
    let without_bos = m.tokenize("Once upon a time", false, false).unwrap();
    assert_eq!(without_bos, vec![403, 407, 261, 378]);
    assert_eq!(
        m.detokenize(&without_bos, false).unwrap(),
        "Once upon a time"
    );

    // A long text (more bytes than the detokenizer's first buffer).
    let long = "Lily and Ben played in the park. ".repeat(40);
    let toks = m.tokenize(&long, false, false).unwrap();
    assert!(toks.len() > 100);
    assert_eq!(m.detokenize(&toks, false).unwrap(), long);
    assert_eq!(m.token_to_piece(403).unwrap(), b" Once");
}

#[test]
fn greedy_generation_is_deterministic() {
    let m = load();
    let mut ctx = m.new_context().unwrap();
    assert!(ctx.n_ctx() > 0);
    let a = ctx.generate("Once upon a time", &greedy(20)).unwrap();
    let b = ctx.generate("Once upon a time", &greedy(20)).unwrap();
    assert_eq!(a.text(), b.text());
    let text = a.text().unwrap();
    assert!(
        GOLDEN.starts_with(text),
        "{:?} is not a prefix of the golden text",
        text
    );
    assert_eq!(
        a.get("object").and_then(Json::as_str),
        Some("text_completion")
    );
    assert_eq!(a.get("model").and_then(Json::as_str), Some("stories260K"));
    assert_eq!(a.finish_reason(), Some("length"));
    assert_eq!(
        a.get("usage.completion_tokens").and_then(Json::as_i64),
        Some(20)
    );
    assert_eq!(a.get("usage.prompt_tokens").and_then(Json::as_i64), Some(5));

    // max_tokens is respected.
    let short = ctx.generate("Once upon a time", &greedy(3)).unwrap();
    assert_eq!(
        short.get("usage.completion_tokens").and_then(Json::as_i64),
        Some(3)
    );
    assert!(text.starts_with(short.text().unwrap()));

    // The whole golden continuation (60 tokens).
    let full = ctx.generate("Once upon a time", &greedy(60)).unwrap();
    assert_eq!(full.text(), Some(GOLDEN));
}

#[test]
fn fields_as_json_text_and_raw_body() {
    let m = load();
    let mut ctx = m.new_context().unwrap();
    let fields = r#"{"max_tokens": 4, "temperature": 0, "model": "my-name"}"#;
    let r = ctx.generate("Once upon a time", fields).unwrap();
    let parsed = Json::parse(fields).unwrap();
    assert_eq!(
        ctx.generate("Once upon a time", &parsed).unwrap().text(),
        r.text()
    );
    let e = ctx.generate("Once upon a time", "{bad json").unwrap_err();
    assert_eq!(e.status(), sys::FW_E_FORMAT);
    assert_eq!(r.get("model").and_then(Json::as_str), Some("my-name"));
    let raw = ctx
        .generate_json(
            r#"{"prompt": "Once upon a time", "max_tokens": 9}"#,
            Some(r#"{"max_tokens": 4, "temperature": 0}"#),
        )
        .unwrap();
    assert_eq!(raw.text(), r.text());
    assert_eq!(
        raw.get("usage.completion_tokens").and_then(Json::as_i64),
        Some(4)
    );
    assert_eq!(Json::parse(raw.json()).unwrap(), *raw.value());
}

#[test]
fn request_errors_name_the_field() {
    let m = load();
    let mut ctx = m.new_context().unwrap();
    let e = ctx
        .generate("hi", &Json::object().with("temperature", 7))
        .unwrap_err();
    assert_eq!(e.status(), sys::FW_E_RANGE, "{:?}", e);
    assert!(e.message().contains("temperature"), "{}", e);
    let e = ctx
        .generate("hi", &Json::object().with("no_such_field", 1))
        .unwrap_err();
    assert!(e.message().contains("no_such_field"), "{}", e);
    assert!(ctx.generate("hi", &Json::from(3)).is_err());
    // The context still works.
    assert!(ctx.generate("hi", &greedy(2)).is_ok());
}

#[test]
fn streaming_deltas_concatenate_to_the_text() {
    let m = load();
    let mut ctx = m.new_context().unwrap();
    let mut deltas = String::new();
    let mut tokens = Vec::new();
    let mut finish = None;
    let r = ctx
        .generate_stream("Once upon a time", &greedy(24), |ev| {
            assert_eq!(ev.choice, 0);
            deltas.push_str(&ev.text);
            if let Some(t) = ev.token {
                tokens.push(t);
            }
            if let Some(f) = ev.finish_reason {
                finish = Some(f.to_string());
            }
            true
        })
        .unwrap();
    assert_eq!(Some(deltas.as_str()), r.text());
    assert_eq!(finish.as_deref(), Some("length"));
    assert_eq!(tokens.len(), 24);
    let ids: Vec<i64> = r
        .get("choices.0.token_ids")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_i64).collect())
        .unwrap_or_else(|| tokens.iter().map(|&t| t as i64).collect());
    assert_eq!(ids, tokens.iter().map(|&t| t as i64).collect::<Vec<_>>());

    // Same text as without streaming.
    let plain = ctx.generate("Once upon a time", &greedy(24)).unwrap();
    assert_eq!(plain.text(), r.text());
}

#[test]
fn streaming_can_stop_early() {
    let m = load();
    let mut ctx = m.new_context().unwrap();
    let mut n = 0;
    let r = ctx
        .generate_stream("Once upon a time", &greedy(30), |_| {
            n += 1;
            n < 5
        })
        .unwrap();
    assert_eq!(r.finish_reason(), Some("stop"));
    let got = r
        .get("usage.completion_tokens")
        .and_then(Json::as_i64)
        .unwrap();
    assert!(got <= 5, "{} tokens after asking to stop at 5", got);
}

#[test]
fn panic_in_callback_is_resumed_after_the_call() {
    let m = load();
    let mut ctx = m.new_context().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = ctx.generate_stream("Once upon a time", &greedy(10), |_| {
            panic!("boom from the callback")
        });
    }));
    let payload = caught.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"boom from the callback")
    );
    // The context is still usable.
    let r = ctx.generate("Once upon a time", &greedy(3)).unwrap();
    assert_eq!(
        r.get("usage.completion_tokens").and_then(Json::as_i64),
        Some(3)
    );
}

#[test]
fn several_choices_and_threads() {
    let m = load();
    // A model is shared between threads, each with its own context.
    let texts: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut ctx = m.new_context().unwrap();
                    let r = ctx.generate("Once upon a time", &greedy(6)).unwrap();
                    r.text().unwrap().to_string()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(texts[0], texts[1]);
}

#[test]
fn chat() {
    // Needs chat-completions support in fw_generate_json ("messages" in the
    // body, "chat.completion" from fw_result_to_json).
    let m = load();
    let mut ctx = m.new_context().unwrap();
    let msgs = [
        Message::system("You tell short stories."),
        Message::user("Tell me about Lily."),
    ];
    let a = ctx
        .chat(&msgs, &greedy(12))
        .unwrap_or_else(|e| panic!("chat request: {}", e));
    assert_eq!(
        a.get("object").and_then(Json::as_str),
        Some("chat.completion"),
        "{}",
        a.json()
    );
    assert_eq!(
        a.get("choices.0.message.role").and_then(Json::as_str),
        Some("assistant"),
        "{}",
        a.json()
    );
    let content = a.text().expect("choices[0].message.content");
    assert!(a.finish_reason().is_some());
    let b = ctx.chat(&msgs, &greedy(12)).unwrap();
    assert_eq!(b.text(), Some(content));

    let mut deltas = String::new();
    let s = ctx
        .chat_stream(&msgs, &greedy(12), |ev| {
            deltas.push_str(&ev.text);
            true
        })
        .unwrap();
    assert_eq!(s.text(), Some(deltas.as_str()));
    assert_eq!(s.text(), Some(content));
}

#[test]
fn chat_fields_travel_by_name() {
    // The chat-only request fields ("chat_template", ...) are plain fields.
    let m = load();
    let mut ctx = m.new_context().unwrap();
    let msgs = [Message::system("Be brief."), Message::user("Hi!")];
    let fields = Json::object()
        .with(
            "chat_template",
            "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}",
        )
        .with("echo", true)
        .with("max_tokens", 0);
    let r = ctx.chat(&msgs, &fields).unwrap();
    assert_eq!(
        r.text(),
        Some("[system] Be brief.\n[user] Hi!\n"),
        "{}",
        r.json()
    );
    let e = ctx
        .generate("Once", &Json::object().with("chat_template", "x"))
        .unwrap_err();
    assert!(e.message().contains("chat_template"), "{}", e);
}

#[test]
fn parameters_by_name_and_several_choices() {
    let p = model_path();
    let m = Model::load_with(
        &p,
        &Json::object()
            .with("use_mmap", false)
            .with("generation_config", ""),
    )
    .unwrap();
    let mut ctx = m
        .new_context_with(r#"{"n_seq_max": 2, "n_ctx": 96, "n_threads": 1, "isa": "scalar"}"#)
        .unwrap();
    assert_eq!(
        (
            ctx.n_seq_max(),
            ctx.n_ctx(),
            ctx.n_threads(),
            ctx.isa().as_str()
        ),
        (2, 96, 1, "scalar")
    );
    let two = Json::object()
        .with("n", 2)
        .with("max_tokens", 4)
        .with("seed", 1)
        .with("logprobs", true)
        .with("top_logprobs", 2);
    let r = ctx.generate("Once upon a time", &two).unwrap();
    assert_eq!(r.n_choices(), 2, "{}", r.json());

    // Streaming: events of both choices, with the response's logprobs.
    let mut texts = [String::new(), String::new()];
    let mut logprobs: [Vec<f32>; 2] = [Vec::new(), Vec::new()];
    let s = ctx
        .generate_stream("Once upon a time", &two, |ev| {
            let i = ev.choice as usize;
            texts[i].push_str(&ev.text);
            if ev.token.is_some() {
                logprobs[i].push(ev.logprob);
                assert_eq!(ev.top_ids.len(), 2);
                assert_eq!(ev.top_logprobs.len(), 2);
                assert!(ev.sampling_logprob <= 0.0);
                assert_eq!(ev.json.get("choice").and_then(Json::as_i64), Some(i as i64));
            }
            true
        })
        .unwrap();
    for i in 0..2 {
        assert_eq!(s.choice_text(i), Some(texts[i].as_str()));
        assert_eq!(r.choice_text(i), s.choice_text(i), "same seed, same text");
        let want: Vec<f32> = s
            .get(&format!("choices.{}.logprobs.token_logprobs", i))
            .and_then(Json::as_array)
            .unwrap()
            .iter()
            .map(|x| match x {
                Json::Number(n) => n.parse().unwrap(),
                _ => f32::NAN,
            })
            .collect();
        assert_eq!(logprobs[i], want);
    }

    // A context with one sequence is made anew for n = 2.
    let mut one = m.new_context().unwrap();
    assert_eq!(one.n_seq_max(), 1);
    let r1 = one.generate("Once upon a time", &two).unwrap();
    assert_eq!(r1.n_choices(), 2);
    assert_eq!(one.n_seq_max(), 2);
    assert_eq!(r1.choice_text(1), r.choice_text(1));

    // Parameters the library does not know are named.
    let e = m
        .new_context_with(&Json::object().with("n_seqs", 2))
        .unwrap_err();
    assert_eq!(e.status(), sys::FW_E_INVALID_ARG, "{:?}", e);
    assert!(e.message().contains("\"n_seqs\""), "{}", e);
    let e = m.new_context_with(r#"{"n_ctx": -1}"#).unwrap_err();
    assert_eq!(e.status(), sys::FW_E_RANGE, "{:?}", e);
    assert!(e.message().contains("n_ctx"), "{}", e);
    let e = m.new_context_with("{bad").unwrap_err();
    assert_eq!(e.status(), sys::FW_E_FORMAT, "{:?}", e);
    assert!(e.message().starts_with("context parameters"), "{}", e);
    let e = Model::load_with(&p, r#"{"use_map": true}"#).unwrap_err();
    assert_eq!(e.status(), sys::FW_E_INVALID_ARG, "{:?}", e);
    assert!(e.message().contains("\"use_map\""), "{}", e);
    // "" and Json::Null are the defaults.
    assert!(m.new_context_with("").is_ok());
    assert!(Model::load_with(&p, &Json::Null).is_ok());
}

/// The f64 at a dotted path of a response, or NaN.
fn f64_at(r: &fwinfer::Response, path: &str) -> f64 {
    r.get(path).and_then(Json::as_f64).unwrap_or(f64::NAN)
}

#[test]
fn every_sampling_field() {
    // One request with every field of docs/SAMPLING.md section 1.  Mirostat
    // is on, so top_k/top_p/min_p/typical_p are accepted and reported but not
    // applied.  Token 432 (",") is what the model samples right after the
    // prompt without the bias; 13 is "\n".
    let m = load();
    let mut ctx = m.new_context().unwrap();
    let floats = [
        ("temperature", 0.9),
        ("top_p", 0.95),
        ("min_p", 0.02),
        ("typical_p", 0.97),
        ("frequency_penalty", 0.1),
        ("presence_penalty", 0.1),
        ("repetition_penalty", 1.1),
        ("mirostat_target", 5.0),
        ("mirostat_lr", 0.1),
    ];
    let mut fields = Json::object()
        .with("top_k", 40)
        .with(
            "logit_bias",
            Json::object().with("13", -100).with("432", -100.0),
        )
        .with("max_tokens", 8)
        .with("n", 2)
        .with("logprobs", true)
        .with("top_logprobs", 2)
        .with("echo", true)
        .with("echo_last", 2)
        .with("raw_output", true)
        .with("ignore_eos", true)
        .with("stop", vec!["zzz"])
        .with("seed", 11u64)
        .with("user", "u")
        .with("model", "stories-test");
    for (k, v) in floats.iter() {
        fields.set(k, *v);
    }
    let prompt_ids: Vec<i64> = m
        .tokenize("Once upon a time", true, false)
        .unwrap()
        .iter()
        .map(|&t| t as i64)
        .collect();
    let r = ctx.generate("Once upon a time", &fields).unwrap();
    let js = r.json();
    assert_eq!(r.get("model").and_then(Json::as_str), Some("stories-test"));
    assert_eq!(r.n_choices(), 2, "{}", js);
    assert_eq!(
        r.get("sampling.seed").and_then(Json::as_u64),
        Some(11),
        "{}",
        js
    );
    assert_eq!(
        r.get("sampling.top_k").and_then(Json::as_i64),
        Some(40),
        "{}",
        js
    );
    for (k, v) in floats.iter() {
        let got = f64_at(&r, &format!("sampling.{}", k));
        assert!(
            (got - v).abs() < 1e-6,
            "sampling.{} = {}, sent {}",
            k,
            got,
            v
        );
    }
    assert_eq!(
        r.get("usage.prompt_tokens").and_then(Json::as_i64),
        Some(prompt_ids.len() as i64)
    );
    assert_eq!(
        r.get("usage.completion_tokens").and_then(Json::as_i64),
        Some(16)
    );
    let ints = |path: &str| -> Vec<i64> {
        r.get(path)
            .and_then(Json::as_array)
            .unwrap_or_else(|| panic!("no {} in {}", path, js))
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect()
    };
    for i in 0..2 {
        let c = format!("choices.{}", i);
        assert_eq!(
            r.get(&format!("{}.finish_reason", c))
                .and_then(Json::as_str),
            Some("length")
        );
        let text = r.choice_text(i).unwrap();
        // echo_last 2: the text starts with the last two prompt tokens.
        assert!(text.starts_with(" a time"), "{:?}", text);
        let ids = ints(&format!("{}.logprobs.token_ids", c));
        assert_eq!(ids.len(), 2 + 8, "{}", js);
        assert_eq!(ids[..2], prompt_ids[prompt_ids.len() - 2..]);
        let gen = &ids[2..];
        assert!(!gen.contains(&13) && !gen.contains(&432), "{:?}", gen);
        let lps = r
            .get(&format!("{}.logprobs.token_logprobs", c))
            .and_then(Json::as_array)
            .unwrap();
        assert_eq!(lps.len(), 10);
        for x in lps {
            let x = x.as_f64().unwrap_or(f64::NAN);
            assert!(x.is_finite() && x <= 0.0, "logprob {} in {}", x, js);
        }
        let tops = r
            .get(&format!("{}.logprobs.top_logprobs", c))
            .and_then(Json::as_array)
            .unwrap();
        assert_eq!(tops.len(), 10);
        for t in tops {
            assert_eq!(t.as_object().map(|o| o.len()), Some(2), "{}", js);
        }
        // raw_output: the prompt ids evaluated and the completion's ids.
        assert_eq!(
            ints(&format!("{}.raw_output.prompt_token_ids", c)),
            prompt_ids
        );
        assert_eq!(ints(&format!("{}.raw_output.completion_token_ids", c)), gen);
        let completion = r
            .get(&format!("{}.raw_output.completion", c))
            .and_then(Json::as_str)
            .unwrap();
        assert_eq!(text, format!(" a time{}", completion));
    }
    assert_ne!(
        r.choice_text(0),
        r.choice_text(1),
        "each choice has its own RNG"
    );
    let again = ctx.generate("Once upon a time", &fields).unwrap();
    for i in 0..2 {
        assert_eq!(
            again.choice_text(i),
            r.choice_text(i),
            "same seed, same text"
        );
    }
}
