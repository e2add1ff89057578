//! `/login` and `/register`: the way in. The server sends visitors here from `/`, and
//! anyone already logged in from here to `/`.

use leptos::prelude::*;

use crate::components::{CredentialsForm, FormKind};

#[component]
pub fn Login() -> impl IntoView {
    view! {
        <AccountPage title="Log in to Uplink" kind=FormKind::Login>
            <p>"New here? " <a href="/register">"Create an account"</a></p>
        </AccountPage>
    }
}

#[component]
pub fn Register() -> impl IntoView {
    view! {
        <AccountPage title="Create an Uplink account" kind=FormKind::Register>
            <p>"Already have one? " <a href="/login">"Log in"</a></p>
        </AccountPage>
    }
}

#[component]
fn AccountPage(title: &'static str, kind: FormKind, children: Children) -> impl IntoView {
    // The dashboard is rendered by the server for the new session: a full navigation.
    let on_success = move |_: String| {
        crate::client::auth::go_to("/");
    };
    view! {
        <section class="account">
            <h1>{title}</h1>
            <CredentialsForm kind on_success/>
            {children()}
        </section>
    }
}
