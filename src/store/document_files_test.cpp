#include "store/document_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace tsunagu::store {
namespace {

namespace fs = std::filesystem;

class DocumentFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-docfiles-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/contexts";  // made by the first put
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::vector<DocumentFiles::Document> load(const DocumentFiles& files) {
    auto docs = files.load();
    EXPECT_TRUE(docs.ok()) << docs.status().detail();
    return docs.ok() ? *docs : std::vector<DocumentFiles::Document>{};
  }

  std::string root_, dir_;
};

TEST_F(DocumentFilesTest, NoFolderYetMeansNoDocuments) {
  DocumentFiles files(dir_, ".jsonld");
  EXPECT_TRUE(load(files).empty());
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(DocumentFilesTest, PutThenLoadGivesTheTextAndTimeBack) {
  DocumentFiles files(dir_, ".jsonld");
  ASSERT_TRUE(files.put("b2", R"({"@context":{"B":"urn:b"}})", 1700000000123456).ok());
  ASSERT_TRUE(files.put("a1", "{}", 1600000000000001).ok());
  EXPECT_TRUE(fs::exists(dir_ + "/a1.jsonld"));
  // Another instance (a restart) reads the same.
  auto docs = load(DocumentFiles(dir_, ".jsonld"));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].name, "a1");
  EXPECT_EQ(docs[0].text, "{}");
  EXPECT_EQ(docs[0].time_us, 1600000000000001);
  EXPECT_EQ(docs[1].name, "b2");
  EXPECT_EQ(docs[1].text, R"({"@context":{"B":"urn:b"}})");
  EXPECT_EQ(docs[1].time_us, 1700000000123456);
}

TEST_F(DocumentFilesTest, PutReplacesAndRemoveDeletes) {
  DocumentFiles files(dir_, ".jsonld");
  ASSERT_TRUE(files.put("x", "old", 1).ok());
  ASSERT_TRUE(files.put("x", "new", 2).ok());
  auto docs = load(files);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].text, "new");
  ASSERT_TRUE(files.remove("x").ok());
  EXPECT_TRUE(load(files).empty());
  EXPECT_TRUE(files.remove("x").ok());  // already gone
}

TEST_F(DocumentFilesTest, LeftoversOfAnInterruptedPutAreDroppedAndOtherFilesIgnored) {
  DocumentFiles files(dir_, ".jsonld");
  ASSERT_TRUE(files.put("kept", "k", 1).ok());
  std::ofstream(dir_ + "/.tmp-torn") << "{\"@cont";
  std::ofstream(dir_ + "/notes.txt") << "not a document";
  auto docs = load(files);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].name, "kept");
  EXPECT_FALSE(fs::exists(dir_ + "/.tmp-torn"));
  EXPECT_TRUE(fs::exists(dir_ + "/notes.txt"));
}

TEST_F(DocumentFilesTest, NamesThatAreNotPlainAreRefused) {
  DocumentFiles files(dir_, ".jsonld");
  for (const char* bad : {"", "../escape", "a/b", ".hidden", "a b"}) {
    EXPECT_EQ(files.put(bad, "x", 1).kind(), ErrorKind::kInternalError) << bad;
    EXPECT_EQ(files.remove(bad).kind(), ErrorKind::kInternalError) << bad;
  }
  EXPECT_FALSE(fs::exists(root_ + "/escape.jsonld"));
}

TEST_F(DocumentFilesTest, UnwritableFolderIsAnError) {
  DocumentFiles files(root_ + "/missing-parent/contexts", ".jsonld");
  Status st = files.put("x", "x", 1);
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_NE(st.detail().find("missing-parent"), std::string::npos) << st.detail();
}

}  // namespace
}  // namespace tsunagu::store
