pub mod drafts;
pub mod modal;
pub mod notices;
pub mod settings_panel;
pub mod sign_out_dialog;
pub mod timeout_modal;
pub mod top_bar;
pub mod warning_toast;
