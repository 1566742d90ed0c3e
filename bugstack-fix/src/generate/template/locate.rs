//! Finds the panicking expression at a line:column in a parsed file, with
//! its ancestors (enclosing statement and function).

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{BinOp, Block, Expr, Signature, Stmt};

use super::source::Source;
use crate::panic_class::{OverflowOp, PanicClass};

/// A syntax node on the path from the file root to the target.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Node<'ast> {
    /// A function (free fn, method, trait default method) and its body.
    Fn(&'ast Signature, Option<&'ast Block>),
    /// An item that is not a function (const, static): no `return` there.
    Item,
    /// A block.
    Block,
    /// A statement.
    Stmt(&'ast Stmt),
    /// An expression.
    Expr(&'ast Expr),
    /// An argument of a macro call: whether the macro always evaluates it
    /// (`format!`, `vec!`, `assert_eq!`'s operands) or maybe not (a panic
    /// message, `debug_assert!`, unknown macros).
    MacroArg(bool),
}

/// Arguments of standard macro calls that are plain comma-separated
/// expressions (`format!`, `println!`, `vec!`, `assert_eq!`, ...), parsed so panics
/// inside them can be located and fixed. Keyed by the macro path's start.
#[derive(Default)]
pub(crate) struct MacroArgs {
    map: std::collections::HashMap<(usize, usize), (String, Vec<Expr>)>,
    /// Macro calls written as statements (`panic!(..);`), as expressions,
    /// so an explicit panic there can be located like any expression.
    statements: std::collections::HashMap<(usize, usize), Expr>,
}

/// Macros that panic when they run (or when their assertion fails).
pub(crate) const PANICKING: &[&str] = &[
    "panic",
    "unreachable",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
];

fn macro_key(m: &syn::Macro) -> (usize, usize) {
    let s = m.path.span().start();
    (s.line, s.column)
}

impl MacroArgs {
    /// Parses the arguments of every macro call in `file` (nested ones too).
    pub(crate) fn collect(file: &syn::File) -> Self {
        let mut me = MacroArgs::default();
        me.visit_file(file);
        me
    }

    fn get(&self, m: &syn::Macro) -> Option<&(String, Vec<Expr>)> {
        self.map.get(&macro_key(m))
    }
}

impl<'ast> Visit<'ast> for MacroArgs {
    fn visit_stmt_macro(&mut self, s: &'ast syn::StmtMacro) {
        self.statements.insert(
            macro_key(&s.mac),
            Expr::Macro(syn::ExprMacro {
                attrs: Vec::new(),
                mac: s.mac.clone(),
            }),
        );
        visit::visit_stmt_macro(self, s);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        use syn::parse::Parser;
        let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
        // The standard macros whose arguments are expressions: the
        // panicking ones (`unreachable!` aside: its arguments are a
        // message) and these.
        const STD: &[&str] = &[
            "format",
            "print",
            "println",
            "eprint",
            "eprintln",
            "write",
            "writeln",
            "format_args",
            "vec",
            "dbg",
        ];
        // Other macros may not treat their tokens as expressions: opaque.
        let known = m
            .path
            .segments
            .last()
            .is_some_and(|s| STD.iter().chain(PANICKING).any(|n| s.ident == n) && s.ident != "unreachable");
        if !known {
            return;
        }
        if let Ok(args) = parser.parse2(m.tokens.clone()) {
            let args: Vec<Expr> = args.into_iter().collect();
            for a in &args {
                self.visit_expr(a);
            }
            let name = m.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
            self.map.insert(macro_key(m), (name, args));
        }
    }
}

/// Whether macro `name` always evaluates its argument number `i`.
fn evaluates_always(name: &str, i: usize) -> bool {
    match name {
        "format" | "print" | "println" | "eprint" | "eprintln" | "write" | "writeln" | "format_args" | "vec" => true,
        "assert" => i == 0,
        "assert_eq" | "assert_ne" => i < 2,
        _ => false,
    }
}

/// The kind of expression that can raise a class of panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Unwrap,
    Index,
    /// A call of one of these methods.
    Call(&'static [&'static str]),
    Binary(&'static [BinKind]),
    Neg,
    /// A panicking macro call ([`PANICKING`]).
    Macro,
    /// A call of the function named in [`Finder::callee`] (a caller's
    /// frame).
    CallTo,
}

/// Binary operators of interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinKind {
    Div,
    Rem,
    Add,
    Sub,
    Mul,
    Shl,
    Shr,
}

fn bin_kind(op: &BinOp) -> Option<BinKind> {
    Some(match op {
        BinOp::Div(_) | BinOp::DivAssign(_) => BinKind::Div,
        BinOp::Rem(_) | BinOp::RemAssign(_) => BinKind::Rem,
        BinOp::Add(_) | BinOp::AddAssign(_) => BinKind::Add,
        BinOp::Sub(_) | BinOp::SubAssign(_) => BinKind::Sub,
        BinOp::Mul(_) | BinOp::MulAssign(_) => BinKind::Mul,
        BinOp::Shl(_) | BinOp::ShlAssign(_) => BinKind::Shl,
        BinOp::Shr(_) | BinOp::ShrAssign(_) => BinKind::Shr,
        _ => return None,
    })
}

/// Methods that slice at a position and panic as indexing does when it is
/// past the end or inside a character (`str::split_at`: "byte index 9 is
/// out of bounds of …").
const SPLITTING: &[&str] = &["split_at", "split_at_mut"];

/// Whether `m` is a call of one of the [`SPLITTING`] methods.
pub(crate) fn is_splitting(m: &syn::ExprMethodCall) -> bool {
    SPLITTING.iter().any(|n| m.method == n)
}

fn want(class: Option<PanicClass>) -> Want {
    match class {
        None | Some(PanicClass::UnwrapNone | PanicClass::UnwrapErr | PanicClass::ParseUnwrap) => Want::Unwrap,
        Some(PanicClass::IndexOob | PanicClass::SliceRange | PanicClass::CharBoundary | PanicClass::MissingKey) => {
            Want::Index
        }
        Some(PanicClass::VecPosition) => Want::Call(&["remove", "swap_remove", "insert"]),
        Some(PanicClass::DivZero | PanicClass::Overflow(OverflowOp::Div)) => Want::Binary(&[BinKind::Div]),
        Some(PanicClass::RemZero) => Want::Binary(&[BinKind::Rem]),
        Some(PanicClass::Overflow(OverflowOp::Add)) => Want::Binary(&[BinKind::Add]),
        Some(PanicClass::Overflow(OverflowOp::Sub)) => Want::Binary(&[BinKind::Sub]),
        Some(PanicClass::Overflow(OverflowOp::Mul)) => Want::Binary(&[BinKind::Mul]),
        Some(PanicClass::Overflow(OverflowOp::Neg)) => Want::Neg,
        Some(PanicClass::Overflow(OverflowOp::Shl)) => Want::Binary(&[BinKind::Shl]),
        Some(PanicClass::Overflow(OverflowOp::Shr)) => Want::Binary(&[BinKind::Shr]),
        Some(PanicClass::ExplicitPanic) => Want::Macro,
    }
}

/// Spans of an expression that rustc may point a panic at.
fn anchors(e: &Expr) -> Vec<Span> {
    let mut v = vec![e.span()];
    match e {
        Expr::MethodCall(m) => v.push(m.method.span()),
        Expr::Index(i) => v.push(i.bracket_token.span.open()),
        Expr::Binary(b) => v.push(b.op.span()),
        _ => {}
    }
    v
}

struct Finder<'ast> {
    macros: &'ast MacroArgs,
    line: usize,
    want: Want,
    /// The called function's name, for [`Want::CallTo`].
    callee: String,
    stack: Vec<Node<'ast>>,
    found: Vec<(&'ast Expr, Vec<Node<'ast>>)>,
}

impl Finder<'_> {
    fn matches(&self, e: &Expr) -> bool {
        match (self.want, e) {
            (Want::Unwrap, Expr::MethodCall(m)) => m.method == "unwrap" || m.method == "expect",
            (Want::Index, Expr::Index(_)) => true,
            (Want::Index, Expr::MethodCall(m)) => is_splitting(m),
            (Want::Call(methods), Expr::MethodCall(m)) => methods.iter().any(|n| m.method == n),
            (Want::Binary(kinds), Expr::Binary(b)) => bin_kind(&b.op).is_some_and(|k| kinds.contains(&k)),
            (Want::Neg, Expr::Unary(u)) => matches!(u.op, syn::UnOp::Neg(_)),
            (Want::CallTo, Expr::MethodCall(m)) => m.method == self.callee,
            (Want::CallTo, Expr::Call(c)) => {
                matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == self.callee))
            }
            (Want::Macro, Expr::Macro(m)) => m
                .mac
                .path
                .segments
                .last()
                .is_some_and(|s| PANICKING.iter().any(|n| s.ident == n)),
            _ => false,
        }
    }
}

impl<'ast> Visit<'ast> for Finder<'ast> {
    fn visit_item_fn(&mut self, i: &'ast syn::ItemFn) {
        self.stack.push(Node::Fn(&i.sig, Some(&i.block)));
        visit::visit_item_fn(self, i);
        self.stack.pop();
    }
    fn visit_impl_item_fn(&mut self, i: &'ast syn::ImplItemFn) {
        self.stack.push(Node::Fn(&i.sig, Some(&i.block)));
        visit::visit_impl_item_fn(self, i);
        self.stack.pop();
    }
    fn visit_trait_item_fn(&mut self, i: &'ast syn::TraitItemFn) {
        self.stack.push(Node::Fn(&i.sig, i.default.as_ref()));
        visit::visit_trait_item_fn(self, i);
        self.stack.pop();
    }
    fn visit_item_const(&mut self, i: &'ast syn::ItemConst) {
        self.stack.push(Node::Item);
        visit::visit_item_const(self, i);
        self.stack.pop();
    }
    fn visit_item_static(&mut self, i: &'ast syn::ItemStatic) {
        self.stack.push(Node::Item);
        visit::visit_item_static(self, i);
        self.stack.pop();
    }
    fn visit_block(&mut self, b: &'ast Block) {
        self.stack.push(Node::Block);
        visit::visit_block(self, b);
        self.stack.pop();
    }
    fn visit_stmt(&mut self, s: &'ast Stmt) {
        self.stack.push(Node::Stmt(s));
        visit::visit_stmt(self, s);
        self.stack.pop();
    }
    fn visit_expr(&mut self, e: &'ast Expr) {
        // Skip whole expressions that do not reach the target line.
        let span = e.span();
        if span.start().line > self.line || span.end().line < self.line {
            return;
        }
        self.stack.push(Node::Expr(e));
        if self.matches(e) && anchors(e).iter().any(|a| a.start().line == self.line) {
            self.found.push((e, self.stack.clone()));
        }
        visit::visit_expr(self, e);
        self.stack.pop();
    }
    fn visit_stmt_macro(&mut self, s: &'ast syn::StmtMacro) {
        let macros = self.macros;
        match macros.statements.get(&macro_key(&s.mac)) {
            Some(e) => self.visit_expr(e),
            None => visit::visit_stmt_macro(self, s),
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let macros = self.macros;
        if let Some((name, args)) = macros.get(m) {
            for (i, a) in args.iter().enumerate() {
                self.stack.push(Node::MacroArg(evaluates_always(name, i)));
                self.visit_expr(a);
                self.stack.pop();
            }
        }
    }
}

/// The panicking expression and where it sits.
#[derive(Debug)]
pub(crate) struct Located<'ast> {
    /// The expression (method call, index or binary expression).
    pub(crate) expr: &'ast Expr,
    /// Ancestors from the file root; the last one is `expr` itself.
    pub(crate) path: Vec<Node<'ast>>,
}

/// Finds the expression of `class` (an `unwrap`/`expect` call when the
/// class is unknown) at `line:column` (1-based, as rustc reports them).
pub(crate) fn locate<'ast>(
    file: &'ast syn::File,
    macros: &'ast MacroArgs,
    src: &Source<'_>,
    class: Option<PanicClass>,
    line: usize,
    column: Option<usize>,
) -> Option<Located<'ast>> {
    find(file, macros, src, want(class), String::new(), line, column)
}

/// Finds a call of the function `callee` (a method or a path call) at
/// `line:column`: where a caller's frame points.
pub(crate) fn locate_call<'ast>(
    file: &'ast syn::File,
    macros: &'ast MacroArgs,
    src: &Source<'_>,
    callee: &str,
    line: usize,
    column: Option<usize>,
) -> Option<Located<'ast>> {
    find(file, macros, src, Want::CallTo, callee.to_string(), line, column)
}

fn find<'ast>(
    file: &'ast syn::File,
    macros: &'ast MacroArgs,
    src: &Source<'_>,
    want: Want,
    callee: String,
    line: usize,
    column: Option<usize>,
) -> Option<Located<'ast>> {
    let mut f = Finder {
        macros,
        line,
        want,
        callee,
        stack: Vec::new(),
        found: Vec::new(),
    };
    f.visit_file(file);
    let found = std::mem::take(&mut f.found);
    let rank = |e: &Expr| -> (u8, usize) {
        let Some(col) = column else {
            return (2, 0);
        };
        let anchors = anchors(e);
        if anchors
            .iter()
            .any(|a| a.start().line == line && src.report_columns(a.start()).contains(&col))
        {
            return (0, 0);
        }
        let span = e.span();
        let (s, end) = (span.start(), span.end());
        let start_col = if s.line == line { src.report_columns(s)[0] } else { 0 };
        let end_col = if end.line == line {
            src.report_columns(end)[0]
        } else {
            usize::MAX
        };
        if start_col <= col && col <= end_col {
            let width = src.range(span).map_or(usize::MAX, |r| r.len());
            return (1, width);
        }
        (2, 0)
    };
    let (expr, path) = found.into_iter().min_by_key(|(e, _)| rank(e))?;
    Some(Located { expr, path })
}

/// The expansions of every `macro_rules!` rule in `file`, each parsed as
/// items: a `$name` metavariable reads as the plain name, a `$(..)`
/// repetition as one copy of its body. Spans stay the file's, so a fix
/// located in an expansion edits the macro's body (every expansion at
/// once). Rules whose expansion is not items (an expression macro) are
/// left out.
pub(crate) fn macro_expansions(file: &syn::File) -> Vec<Expansion> {
    struct Rules(Vec<(String, proc_macro2::TokenStream)>);
    impl<'ast> Visit<'ast> for Rules {
        fn visit_item_macro(&mut self, i: &'ast syn::ItemMacro) {
            if let (true, Some(name)) = (i.mac.path.is_ident("macro_rules"), &i.ident) {
                let mut tokens = i.mac.tokens.clone().into_iter().peekable();
                // (matcher) => {transcriber} ; ...
                while let Some(tt) = tokens.next() {
                    if let proc_macro2::TokenTree::Group(g) = &tt {
                        if g.delimiter() != proc_macro2::Delimiter::None
                            && tokens
                                .peek()
                                .is_some_and(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == '='))
                        {
                            tokens.next();
                            tokens.next();
                            if let Some(proc_macro2::TokenTree::Group(body)) = tokens.next() {
                                self.0.push((name.to_string(), plain_metavariables(body.stream())));
                            }
                        }
                    }
                }
            }
            visit::visit_item_macro(self, i);
        }
    }
    let mut rules = Rules(Vec::new());
    rules.visit_file(file);
    rules
        .0
        .into_iter()
        .filter_map(|(macro_name, ts)| {
            let file = syn::parse2::<syn::File>(ts).ok()?;
            Some(Expansion { macro_name, file })
        })
        .collect()
}

/// One `macro_rules!` rule's expansion, parsed (see [`macro_expansions`]).
pub(crate) struct Expansion {
    /// The macro's name.
    pub(crate) macro_name: String,
    /// The rule's expansion as items, with the file's spans.
    pub(crate) file: syn::File,
}

/// The name of the macro called on `line` of `file` at item level
/// (`impl_ops!(u64);`): where rustc points a panic inside its expansion.
pub(crate) fn macro_called_on(file: &syn::File, line: usize) -> Option<String> {
    struct Calls<'l> {
        line: usize,
        found: &'l mut Option<String>,
    }
    impl<'ast> Visit<'ast> for Calls<'_> {
        fn visit_item_macro(&mut self, i: &'ast syn::ItemMacro) {
            let span = i.span();
            if !i.mac.path.is_ident("macro_rules") && span.start().line <= self.line && self.line <= span.end().line {
                if let Some(last) = i.mac.path.segments.last() {
                    *self.found = Some(last.ident.to_string());
                }
            }
        }
    }
    let mut found = None;
    Calls {
        line,
        found: &mut found,
    }
    .visit_file(file);
    found
}

/// `$name` → `name`, `$( .. ) sep? op` → `..` (once), recursively.
fn plain_metavariables(ts: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use proc_macro2::{Group, TokenTree};
    let mut out = Vec::new();
    let mut tokens = ts.into_iter().peekable();
    while let Some(tt) = tokens.next() {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '$' => match tokens.next() {
                Some(TokenTree::Ident(i)) => out.push(TokenTree::Ident(i)),
                Some(TokenTree::Group(g)) => {
                    out.extend(plain_metavariables(g.stream()));
                    // An optional separator, then the repetition operator.
                    let is_op =
                        |t: &TokenTree| matches!(t, TokenTree::Punct(p) if matches!(p.as_char(), '*' | '+' | '?'));
                    if tokens.peek().is_some_and(|t| !is_op(t)) {
                        tokens.next();
                    }
                    if tokens.peek().is_some_and(is_op) {
                        tokens.next();
                    }
                }
                Some(other) => out.push(other),
                None => {}
            },
            TokenTree::Group(g) => {
                let mut inner = Group::new(g.delimiter(), plain_metavariables(g.stream()));
                inner.set_span(g.span());
                out.push(TokenTree::Group(inner));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// In the expansions of `macro_name`, the line of the one expression of
/// `class` inside the function named `function` (the frame's last path
/// segment): (which expansion, the line). `None` when there is no such expression, or more
/// than one on different lines (no way to tell which panicked).
pub(crate) fn locate_in_expansions(
    expansions: &[Expansion],
    macro_name: &str,
    class: Option<PanicClass>,
    function: &str,
) -> Option<(usize, usize)> {
    struct InFn<'f> {
        finder: Finder<'f>,
        function: &'f str,
        depth: usize,
        lines: Vec<usize>,
    }
    impl<'ast> Visit<'ast> for InFn<'_> {
        fn visit_item_fn(&mut self, i: &'ast syn::ItemFn) {
            let hit = usize::from(i.sig.ident == self.function);
            self.depth += hit;
            visit::visit_item_fn(self, i);
            self.depth -= hit;
        }
        fn visit_impl_item_fn(&mut self, i: &'ast syn::ImplItemFn) {
            let hit = usize::from(i.sig.ident == self.function);
            self.depth += hit;
            visit::visit_impl_item_fn(self, i);
            self.depth -= hit;
        }
        fn visit_expr(&mut self, e: &'ast Expr) {
            if self.depth > 0 && self.finder.matches(e) {
                if let Some(a) = anchors(e).last() {
                    self.lines.push(a.start().line);
                }
            }
            visit::visit_expr(self, e);
        }
    }
    let none = MacroArgs::default();
    let mut hits = Vec::new();
    for (i, e) in expansions
        .iter()
        .enumerate()
        .filter(|(_, e)| e.macro_name == macro_name)
    {
        let mut v = InFn {
            finder: Finder {
                macros: &none,
                line: 0,
                want: want(class),
                callee: String::new(),
                stack: Vec::new(),
                found: Vec::new(),
            },
            function,
            depth: 0,
            lines: Vec::new(),
        };
        v.visit_file(&e.file);
        hits.extend(v.lines.into_iter().map(|l| (i, l)));
    }
    hits.dedup_by_key(|h| h.1);
    match hits.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// The byte ranges (in `src`) of the bodies of every function named
/// `function` in the expansions of macros other than `macro_name`: the
/// same method a sibling macro generates for other types.
pub(crate) fn twin_bodies(
    expansions: &[Expansion],
    macro_name: &str,
    function: &str,
    src: &Source<'_>,
) -> Vec<std::ops::Range<usize>> {
    struct Bodies<'f> {
        function: &'f str,
        spans: Vec<Span>,
    }
    impl<'ast> Visit<'ast> for Bodies<'_> {
        fn visit_impl_item_fn(&mut self, i: &'ast syn::ImplItemFn) {
            if i.sig.ident == self.function {
                self.spans.push(i.block.span());
            }
        }
        fn visit_item_fn(&mut self, i: &'ast syn::ItemFn) {
            if i.sig.ident == self.function {
                self.spans.push(i.block.span());
            }
        }
    }
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for e in expansions.iter().filter(|e| e.macro_name != macro_name) {
        let mut b = Bodies {
            function,
            spans: Vec::new(),
        };
        b.visit_file(&e.file);
        for r in b.spans.into_iter().filter_map(|s| src.range(s)) {
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

impl<'ast> Located<'ast> {
    /// The innermost enclosing function's signature, and whether a `return`
    /// or `?` at the target returns from it (false inside a closure or an
    /// async block, or outside any function).
    pub(crate) fn function(&self) -> (Option<(&'ast Signature, Option<&'ast Block>)>, bool) {
        let mut can_return = true;
        for n in self.path.iter().rev() {
            match n {
                Node::Fn(sig, block) => return (Some((sig, *block)), can_return),
                Node::Item => return (None, false),
                Node::Expr(Expr::Closure(_) | Expr::Async(_)) => can_return = false,
                _ => {}
            }
        }
        (None, false)
    }

    /// The expression directly containing the target, if any.
    pub(crate) fn parent_expr(&self) -> Option<&'ast Expr> {
        match self.path.get(self.path.len().checked_sub(2)?) {
            Some(Node::Expr(e)) => Some(e),
            _ => None,
        }
    }

    /// The innermost statement containing the target, and whether the
    /// target is evaluated exactly once, unconditionally, whenever that
    /// statement runs (so a guard placed before it checks exactly the
    /// panicking evaluation).
    pub(crate) fn statement(&self) -> Option<(&'ast Stmt, bool)> {
        let at = self.path.iter().rposition(|n| matches!(n, Node::Stmt(_)))?;
        let Node::Stmt(stmt) = self.path[at] else {
            return None;
        };
        let mut safe = true;
        for pair in self.path[at..].windows(2) {
            let child = pair[1];
            let child_is = |e: &Expr| matches!(child, Node::Expr(c) if std::ptr::eq(c, e));
            safe &= match pair[0] {
                Node::Stmt(Stmt::Local(l)) => !l
                    .init
                    .as_ref()
                    .and_then(|i| i.diverge.as_ref())
                    .is_some_and(|(_, d)| child_is(d)),
                Node::Stmt(_) => true,
                Node::Expr(Expr::If(i)) => child_is(&i.cond),
                Node::Expr(Expr::Binary(b)) if matches!(b.op, BinOp::And(_) | BinOp::Or(_)) => child_is(&b.left),
                Node::Expr(Expr::Match(m)) => child_is(&m.expr),
                Node::Expr(Expr::ForLoop(f)) => child_is(&f.expr),
                Node::Expr(
                    Expr::While(_)
                    | Expr::Loop(_)
                    | Expr::Closure(_)
                    | Expr::Async(_)
                    | Expr::Block(_)
                    | Expr::Unsafe(_)
                    | Expr::TryBlock(_)
                    | Expr::Const(_),
                ) => false,
                Node::Expr(_) => true,
                Node::MacroArg(always) => always,
                Node::Block | Node::Fn(..) | Node::Item => false,
            };
        }
        Some((stmt, safe))
    }
}

/// Identifiers used anywhere inside a node (to pick fresh names).
#[derive(Default)]
pub(crate) struct Idents(pub(crate) std::collections::HashSet<String>);

impl<'ast> Visit<'ast> for Idents {
    fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
        self.0.insert(i.to_string());
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        token_idents(m.tokens.clone(), &mut self.0);
        visit::visit_macro(self, m);
    }
}

/// Every identifier among `tokens` (a macro's arguments, which `syn` does
/// not parse), groups included, into `out`.
pub(crate) fn token_idents(tokens: proc_macro2::TokenStream, out: &mut impl Extend<String>) {
    for t in tokens {
        match t {
            proc_macro2::TokenTree::Ident(i) => out.extend([i.to_string()]),
            proc_macro2::TokenTree::Group(g) => token_idents(g.stream(), out),
            _ => {}
        }
    }
}
