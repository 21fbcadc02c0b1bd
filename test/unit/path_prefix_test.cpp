#include <gtest/gtest.h>

#include "core/path_prefix.hpp"

namespace warden {
namespace {

PathPlacement place(std::string_view value, std::string_view prefix) {
  return judge_path(value, prefix).placement;
}

TEST(PathPrefix, Finding12SegmentsNotBytes) {
  EXPECT_EQ(place("/srv/public/a", "/srv/public/"), PathPlacement::kWithin);
  EXPECT_EQ(place("/srv/public/a/b", "/srv/public"), PathPlacement::kWithin);
  EXPECT_EQ(place("/srv/publicity", "/srv/public"), PathPlacement::kOutside);
  EXPECT_EQ(place("/srv/publicity/a", "/srv/public/"), PathPlacement::kOutside);
  EXPECT_EQ(place("/srv", "/srv/public"), PathPlacement::kOutside);
  EXPECT_EQ(place("/etc/shadow", "/srv/public/"), PathPlacement::kOutside);
}

TEST(PathPrefix, Finding12TrailingSlashMeansStrictlyBeneath) {
  EXPECT_EQ(place("/srv/public", "/srv/public/"), PathPlacement::kOutside);
  EXPECT_EQ(place("/srv/public", "/srv/public"), PathPlacement::kWithin);
  EXPECT_EQ(place("/", "/"), PathPlacement::kWithin);
  EXPECT_EQ(place("/etc", "/"), PathPlacement::kWithin);
  EXPECT_EQ(place("etc", "/"), PathPlacement::kOutside);
  EXPECT_EQ(place("docs/a", "docs/"), PathPlacement::kWithin);
  EXPECT_EQ(place("docs", "docs/"), PathPlacement::kOutside);
}

TEST(PathPrefix, Finding12RefusesClimbingAndAmbiguousSpellings) {
  const char* prefix = "/srv/public/";
  for (const char* value :
       {"/srv/public/../../etc/shadow", "/srv/public/..", "/srv/public/a/../../b",
        "/srv/public/./a", "/srv/public//a", "/srv/public/a/", "/srv/public/a\\..\\b",
        "/srv/public/%2e%2e/x", "/srv/public/%", "/srv/public/a\tb", "/srv/public/\xC2\x85",
        "/srv/public/\xC0\xAE\xC0\xAE", "", "//srv/public/a"}) {
    const auto judgement = judge_path(value, prefix);
    EXPECT_EQ(judgement.placement, PathPlacement::kMalformedValue) << value;
    EXPECT_FALSE(judgement.problem.empty()) << value;
  }
  // Characters an NFKC-normalising or best-fit-converting upstream would turn into ".." or "/".
  for (const char* value : {"/srv/public/\uFF0E\uFF0E/etc", "/srv/public/a\uFF0F..\uFF0F..",
                            "/srv/public/\u2025/x", "/srv/public/a\uFF3Cb", "/srv/public/a\u2215b",
                            "/srv/public/\uFE52\uFE52", "/srv/public/\uFF05\uFF12e"}) {
    EXPECT_EQ(place(value, prefix), PathPlacement::kMalformedValue) << value;
  }
  EXPECT_EQ(place("/srv/public/caf\u00E9/\u6587\u66F8", prefix), PathPlacement::kWithin);
  EXPECT_EQ(place(std::string_view("/srv/public/a\0/..", 17), prefix),
            PathPlacement::kMalformedValue);
  // A climbing segment is refused even where it would stay inside.
  EXPECT_EQ(place("/srv/public/a/../b", prefix), PathPlacement::kMalformedValue);
  // Names that merely contain dots are fine.
  EXPECT_EQ(place("/srv/public/...", prefix), PathPlacement::kWithin);
  EXPECT_EQ(place("/srv/public/.hidden/..x", prefix), PathPlacement::kWithin);
  EXPECT_EQ(place("/srv/public/a", "/srv/../public/"), PathPlacement::kMalformedPrefix);
}

TEST(PathPrefix, Finding12OperandRules) {
  EXPECT_FALSE(path_prefix_operand_error("/srv/public/").has_value());
  EXPECT_FALSE(path_prefix_operand_error("/").has_value());
  EXPECT_FALSE(path_prefix_operand_error("relative/dir").has_value());
  EXPECT_EQ(*path_prefix_operand_error(""), "is empty");
  EXPECT_EQ(*path_prefix_operand_error("/a/../b"), "has a '..' segment");
  EXPECT_EQ(*path_prefix_operand_error("/a/./b"), "has a '.' segment");
  EXPECT_EQ(*path_prefix_operand_error("./a"), "has a '.' segment");
  EXPECT_EQ(*path_prefix_operand_error("/a//"), "has an empty segment ('//')");
  EXPECT_TRUE(path_prefix_operand_error("\\\\server\\share").has_value());
  EXPECT_TRUE(path_prefix_operand_error("/a%20b").has_value());
  EXPECT_TRUE(path_prefix_operand_error("/a\x1b").has_value());
}

TEST(PathPrefix, Finding12NarrowerPrefixes) {
  EXPECT_TRUE(path_prefix_within("/srv/public/a", "/srv/public/"));
  EXPECT_TRUE(path_prefix_within("/srv/public/", "/srv/public/"));
  EXPECT_TRUE(path_prefix_within("/srv/public/", "/srv/public"));
  EXPECT_TRUE(path_prefix_within("/srv/public", "/srv/public"));
  EXPECT_TRUE(path_prefix_within("/srv", "/"));
  EXPECT_FALSE(path_prefix_within("/srv/public", "/srv/public/"));
  EXPECT_FALSE(path_prefix_within("/srv", "/srv/public"));
  EXPECT_FALSE(path_prefix_within("/srv/publicity", "/srv/public"));
  EXPECT_FALSE(path_prefix_within("srv/public", "/srv"));
  EXPECT_FALSE(path_prefix_within("/srv/x/../public", "/srv"));
  EXPECT_FALSE(path_prefix_within("/srv/public", "/srv/../srv"));
}

}  // namespace
}  // namespace warden
