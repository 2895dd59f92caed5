"""How people ask, and how contracts are drafted: a table of general legal vocabulary.

Each row is (asked, drafted): when a query word has the stem of an `asked` word, the `drafted`
words are searched too, as alternatives of that word (an OR group), so "what if I sue?" finds
"institute patent litigation" and "when does it end?" finds "terminate" and "expire". Rows are
vocabulary, not answers: they hold for any contract, licence or policy. British and American
spellings are rows too ("licence" / "license").

Words are matched by their Snowball (Porter 2) English stem, the stemmer the engines use at
index time (PostgreSQL's 'english' configuration; FTS5's porter tokenizer is its predecessor),
so "sues", "suing" and "sued" all hit the row of "sue".
"""

from __future__ import annotations

# (asked, drafted): space-separated words; an asked phrase joins its words with "_" ("give_up"),
# and stands for its drafted words only.
ROWS: tuple[tuple[str, str], ...] = (
    # Phrases
    ("give_up sign_away", "waive waiver abandon surrender relinquish"),
    ("rent_out sublet sublease", "sublet sublease assign"),
    ("go_wrong goes_wrong", "breach liability damages fail"),
    ("pass_on hand_on hand_over", "distribute convey transfer deliver disclose"),
    ("get_rid_of throw_away", "destroy return delete dispose"),
    ("pay_back", "refund reimburse repay"),
    ("back_out pull_out walk_away", "terminate termination withdraw"),
    # Disputes
    ("sue sued suing lawsuit litigate", "litigation action proceeding claim lawsuit"),
    ("court judge trial", "court jurisdiction venue litigation"),
    ("dispute disagreement fight", "dispute controversy claim arbitration"),
    ("arbitrate arbitration mediate", "arbitration arbitrator mediation dispute"),
    # Ending
    ("end ends ending stop cancel quit", "terminate termination expire expiration cease"),
    ("terminate termination", "terminate termination expire cease"),
    ("expire expiry expiration", "expire expiration term terminate"),
    ("fire fired firing sack dismiss", "terminate termination dismiss dismissal employment"),
    ("long duration last lasts", "term period duration years"),
    ("renew renewal extend extension", "renew renewal extend extension term"),
    ("survive survives survival", "survive survival termination"),
    # Money
    ("pay paid paying payment", "fee fees payment compensation remuneration invoice"),
    ("cost costs price charge charges", "fee fees charge price payment"),
    ("money cash", "fee fees payment charge price compensation"),
    ("salary wage wages", "compensation remuneration salary"),
    ("refund reimburse reimbursement", "refund reimburse reimbursement credit"),
    ("late overdue", "late overdue interest"),
    ("deposit", "deposit security"),
    ("tax taxes", "tax taxes withholding"),
    # Breach and remedies
    ("break breaks broke breaking violate violation", "breach violate violation default"),
    ("breach", "breach default violation"),
    ("rule rules", "terms conditions requirements obligations"),
    ("fix repair correct", "cure remedy repair correct"),
    ("damage damages harm loss", "damages loss liability harm"),
    ("blame responsible responsibility fault", "liable liability responsible negligence"),
    ("liable liability", "liability liable damages"),
    ("protect cover compensate", "indemnify indemnification indemnity defend hold harmless"),
    ("indemnify indemnity indemnification", "indemnify indemnification indemnity defend"),
    ("guarantee guarantees promise promises", "warranty warrant represent representation"),
    (
        "faulty defect defects defective bug bugs broken",
        "defect defective nonconforming conform warranty",
    ),
    ("warranty warranties", "warranty warranties warrant disclaim disclaimer"),
    ("insurance insure", "insurance insured coverage policy"),
    # Information
    ("share sharing tell reveal leak", "disclose disclosure distribute communicate"),
    ("secret secrets private confidential", "confidential confidentiality proprietary"),
    ("give giving hand", "provide deliver distribute convey transfer"),
    ("send sending submit", "submit submission deliver transmit notice"),
    ("improvement improvements patch patches", "contribution modification modify submit"),
    (
        "document documents paper papers file files",
        "materials information records documents copies",
    ),
    ("agree agrees agreeing accept", "accept acceptance consent assent agree"),
    ("compiled binary executable", "object code executable binary"),
    ("device devices gadget hardware", "product device equipment hardware"),
    ("install installing", "install installation"),
    ("infringe infringes infringement", "infringe infringement assert litigation"),
    ("ask asking demand", "charge request demand require"),
    ("data personal", "data information personal privacy"),
    ("privacy", "privacy personal data protection"),
    # Copying and changing
    ("copy copies copying", "reproduce reproduction copy copies duplicate"),
    ("sell selling sold resell", "sell sale distribute commercial charge"),
    ("change changes changing alter edit", "modify modification amend amendment alter"),
    ("modify modification", "modify modification amend alter derivative"),
    ("update upgrade version", "version modify revision"),
    ("combine combining mix link", "combine combined link aggregate larger"),
    ("distribute spread", "distribute distribution convey propagate"),
    ("allowed allow permit permission", "permit permission grant license right"),
    ("forbid forbidden prohibit ban", "prohibit restrict restriction prohibited"),
    # Ownership and rights
    ("own owns owner ownership", "ownership title own intellectual property"),
    ("patent patents", "patent patents claims"),
    ("brand logo name trademark", "trademark trademarks name logo"),
    ("credit attribution", "attribution notice copyright notices"),
    ("transfer assign assignment", "assign assignment transfer"),
    ("licence licences licensed licensing licensee", "license licensed licensee licensing"),
    ("source code", "source code corresponding"),
    # People and parties
    ("employee employees staff worker workers", "employee employees personnel contractor"),
    ("hire hiring recruit poach solicit", "solicit solicitation hire employ"),
    ("company business firm", "party entity affiliate"),
    ("contractor consultant", "contractor provider supplier vendor"),
    ("landlord owner", "landlord lessor"),
    ("tenant renter", "tenant lessee"),
    ("rent renting lease", "rent lease premises"),
    # Time and notice
    ("warn warning tell inform", "notice notify notification"),
    ("deadline days when soon", "within days period date"),
    ("start begin begins starts effective", "commence commencement effective begin"),
    ("law laws governed governing", "law governing jurisdiction"),
    ("outside control disaster pandemic", "force majeure beyond control"),
    ("move moving", "assign transfer relocate"),
    ("free", "free charge gratis"),
    ("lawyer attorney", "counsel attorney legal"),
    ("limit limits cap maximum most", "limit limitation cap exceed aggregate liability"),
    ("agreement contract deal", "agreement contract"),
)
